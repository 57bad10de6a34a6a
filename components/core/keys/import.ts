import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CloudIdentity } from "../identity";
import { InputError } from "../inventory/problems";
import { VmEntry, importedKeyConfig } from "../inventory/validate";
import { NAMESPACE } from "../settings";
import { CloudPath } from "../steps";
import { KeyFormat, readKeyExport } from "./key-export";
import { KeyMatch, matchKeys } from "./key-match";

/** Where one VM's keys went. */
export interface StoredKeys {
    vm: VmEntry;
    /** Recovery passwords stored. */
    count: number;
    /** `stack config` (a secret config key) or `secret store` (a secret of the cloud's, referenced from stack config). */
    where: "stack config" | "secret store";
    /** The secret config key, or the secret store's reference (an ARN or a Secret Manager name): never a key. */
    reference: string;
}

/** The outcome of an import. */
export interface ImportResult {
    match: KeyMatch;
    stored: StoredKeys[];
    /** VMs whose keys could not be stored, with the reason. */
    failed: { vm: VmEntry; reason: string }[];
}

/** What an import works with. */
export interface ImportArgs {
    /** The stack whose config receives the keys (or the references to them). */
    stack: string;
    /** The stack's validated inventory. */
    vms: readonly VmEntry[];
    /** The export file (for messages) and its text. */
    file: string;
    text: string;
    format: KeyFormat;
    identities: readonly CloudIdentity[];
    paths: readonly CloudPath[];
    /** Each cloud's validated own settings (the AWS path stores as the role of the VM's account). */
    cloudConfigs: ReadonlyMap<string, unknown>;
    /** Sets one stack config value, reading it from standard input (never an argument). */
    setConfig(key: string, value: string, secret: boolean): Promise<void>;
    /** Report nothing stored: only what would be. */
    dryRun: boolean;
}

/** The export's format from its header, when --format is not given. */
export function detectFormat(text: string): KeyFormat {
    const header = (text.replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? "").toLowerCase().replace(/[^a-z0-9,]/g, "");
    if (header.split(",").includes("distinguishedname")) return "ad";
    if (/(^|,)(devicename|recoverykey|bitlockerrecoverykey)(,|$)/.test(header) && !/(^|,)recoverypassword(,|$)/.test(header)) return "entra";
    return "csv";
}

/**
 * Imports a recovery-key export into a stack: validates every row first (a bad row stops the
 * import, nothing is stored), matches rows to the inventory's VMs, then stores each VM's keys
 * where its cloud path reads them: a secret stack-config key (`bitlocker-<stem>`) for paths that
 * take keys from stack config, or a secret of the cloud's secret store (one per VM, created or
 * given a new version) whose reference goes to plain stack config (`bitlockerSecret-<stem>`). Keys
 * reach the stores through standard input or a root-only file, never an argument.
 */
export async function importKeys(args: ImportArgs): Promise<ImportResult> {
    const parsed = readKeyExport(args.file, args.text, args.format);
    if (parsed.problems.length) throw new InputError(parsed.problems);
    const match = matchKeys(parsed.rows, args.vms, new Map(args.identities.map((i) => [i.cloud, i])));
    const pathOf = new Map(args.paths.map((p) => [p.identity.cloud, p]));
    const result: ImportResult = { match, stored: [], failed: [] };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-rescue-keys-"));
    fs.chmodSync(dir, 0o700);
    try {
        // The cloud stores run side by side (at most 16 at once); stack config is one file, set in turn.
        const pending: Promise<void>[] = [];
        let configQueue = Promise.resolve();
        const setConfig = (key: string, value: string, secret: boolean) => (configQueue = configQueue.then(() => args.setConfig(key, value, secret)));
        for (const { vm, lines } of match.keys.values()) {
            const p = pathOf.get(vm.cloud)!;
            const imported = importedKeyConfig(NAMESPACE, vm.slug);
            const text = `${lines.join("\n")}\n`;
            const done = (where: StoredKeys["where"], reference: string) => void result.stored.push({ vm, count: lines.length, where, reference });
            const fail = (err: unknown) => void result.failed.push({ vm, reason: err instanceof Error ? err.message : String(err) });
            if (p.bitlocker.stackConfig === true) {
                if (args.dryRun) done("stack config", imported.key);
                else pending.push(setConfig(imported.key, text, true).then(() => done("stack config", imported.key), fail));
            } else if (p.storeKeySecret) {
                if (args.dryRun) {
                    done("secret store", "(a secret of its own in the cloud's secret store)");
                    continue;
                }
                const keyFile = path.join(dir, `${vm.slug}.keys`);
                fs.writeFileSync(keyFile, text, { mode: 0o600, flag: "wx" });
                pending.push(
                    p
                        .storeKeySecret(vm, { stack: args.stack, config: args.cloudConfigs.get(vm.cloud), keyFile })
                        .then(async (reference) => {
                            fs.rmSync(keyFile, { force: true });
                            await setConfig(imported.secretRef, reference, false);
                            done("secret store", reference);
                        })
                        .catch((err) => {
                            fs.rmSync(keyFile, { force: true });
                            fail(err);
                        }),
                );
            } else {
                fail(new Error(`the ${vm.cloud} recovery path has no place to keep BitLocker keys`));
            }
        }
        await Promise.all(pending);
        await configQueue;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    const order = new Map(args.vms.map((v, i) => [v.key, i]));
    result.stored.sort((a, b) => order.get(a.vm.key)! - order.get(b.vm.key)!);
    return result;
}

/**
 * Sets a stack config value with the Pulumi CLI (`BOOTLOOP_PULUMI`, else `pulumi` on the PATH),
 * the value on standard input, as `pulumi config set` reads it when none is given.
 */
export function pulumiConfigSet(stack: string, cwd: string): (key: string, value: string, secret: boolean) => Promise<void> {
    return (key, value, secret) =>
        new Promise((resolve, reject) => {
            const child = spawn(process.env.BOOTLOOP_PULUMI || "pulumi", ["config", "set", ...(secret ? ["--secret"] : ["--plaintext"]), "--stack", stack, key], { cwd, stdio: ["pipe", "ignore", "pipe"] });
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", (err) => reject(new Error(`could not run pulumi (${err.message}): install the Pulumi CLI, or set BOOTLOOP_PULUMI`)));
            child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`pulumi config set ${key} failed (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`))));
            child.stdin.end(value);
        });
}

/** The import's report, for people: what got keys, what has none, what matched nothing. Never a key. */
export function renderImport(result: ImportResult, source: string, dryRun: boolean): string {
    const { match, stored, failed } = result;
    const lines = [`import-keys: ${source}`];
    const verb = dryRun ? "would store" : "stored";
    lines.push(`  ${verb} keys of ${stored.length} VM${stored.length === 1 ? "" : "s"}:`);
    for (const s of stored) lines.push(`    ${s.vm.label}: ${s.count} recovery password${s.count === 1 ? "" : "s"} → ${s.where} ${s.reference}`);
    if (failed.length) {
        lines.push(`  FAILED for ${failed.length} VM${failed.length === 1 ? "" : "s"} (nothing stored for them):`);
        for (const f of failed) lines.push(`    ${f.vm.label}: ${f.reason}`);
    }
    lines.push(`  no key in the export for ${match.withoutKey.length} VM${match.withoutKey.length === 1 ? "" : "s"}${match.withoutKey.length ? ":" : ""}`);
    for (const vm of match.withoutKey) lines.push(`    ${vm.label}${vm.hostname ? ` (hostname ${vm.hostname})` : ""}`);
    if (match.unmatched.length) lines.push(`  rows matching no VM of the inventory: ${match.unmatched.length} (${match.unmatched.map((u) => `line ${u.line} ${u.machine}`).join(", ")})`);
    if (match.ambiguous.length) {
        lines.push(`  rows matching more than one VM (not stored; give those VMs a hostname in the inventory): ${match.ambiguous.length}`);
        for (const a of match.ambiguous) lines.push(`    line ${a.line} ${a.machine}: ${a.vms.join(", ")}`);
    }
    if (match.duplicates.length) lines.push(`  duplicate rows (a key already taken for the same VM): lines ${match.duplicates.join(", ")}`);
    if (!dryRun && stored.length) lines.push("  next: `npm run plan -- --stack …` shows the VMs with keys; `pulumi up` hands them to the repairs");
    return lines.join("\n");
}
