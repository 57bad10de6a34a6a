import { spawn } from "child_process";
import { terminalText } from "../display-text";
import { CloudIdentity } from "../../core/contract/identity";
import { InputError } from "../../core/contract/problems";
import { importedKeyConfig } from "../../core/inventory/entry-fields";
import { VmEntry } from "../../core/contract/vm";
import { NAMESPACE } from "../../core/contract/settings";
import { CloudPath } from "../../core/contract/cloud-path";
import { KeyFolder, StopSignal } from "./key-folder";
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
    /** VMs with keys whose store had not finished when a stop signal ended the import (their keys may or may not be stored). */
    unfinished: VmEntry[];
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
    /**
     * Called when SIGINT, SIGTERM or SIGHUP stops the import, after its key files are removed and
     * before the process exits with the signal's code: the outcome so far, `unfinished` filled in.
     */
    onInterrupt?(partial: ImportResult, signal: StopSignal): void;
}

/** The export's format from its header, when --format is not given. */
export function detectFormat(text: string): KeyFormat {
    const header = (text.replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? "").toLowerCase().replace(/[^a-z0-9,]/g, "");
    if (header.split(",").includes("distinguishedname")) return "ad";
    if (/(^|,)(devicename|recoverykey|bitlockerrecoverykey)(,|$)/.test(header) && !/(^|,)recoverypassword(,|$)/.test(header))
        return "entra";
    return "csv";
}

/** Cloud stores in flight at once (as many as `runCloudScript` runs), so at most this many key files exist. */
const STORES_AT_ONCE = 16;

/**
 * Imports a recovery-key export into a stack: validates every row first (a bad row stops the
 * import, nothing is stored), matches rows to the inventory's VMs, then stores each VM's keys
 * where its cloud path reads them: a secret stack-config key (`bitlocker-<stem>`) for paths that
 * take keys from stack config, or a secret of the cloud's secret store (one per VM, created or
 * given a new version) whose reference goes to plain stack config (`bitlockerSecret-<stem>`). Keys
 * reach the stores through standard input (the Pulumi CLI) or a root-only file written just
 * before its call and removed after it (the cloud CLIs, whose retries read it again), never an
 * argument. Every VM gets an outcome: stored, failed (with the reason), or, when a stop signal
 * ends the import (`onInterrupt`), unfinished; one VM's failure never stops the others.
 */
export async function importKeys(args: ImportArgs): Promise<ImportResult> {
    const parsed = readKeyExport(args.file, args.text, args.format);
    if (parsed.problems.length) throw new InputError(parsed.problems);
    const match = matchKeys(parsed.rows, args.vms, new Map(args.identities.map((i) => [i.cloud, i])));
    const pathOf = new Map(args.paths.map((p) => [p.identity.cloud, p]));
    const result: ImportResult = { match, stored: [], failed: [], unfinished: [] };
    const order = new Map(args.vms.map((v, i) => [v.key, i]));
    const sorted = () => {
        result.stored.sort((a, b) => order.get(a.vm.key)! - order.get(b.vm.key)!);
        result.failed.sort((a, b) => order.get(a.vm.key)! - order.get(b.vm.key)!);
        return result;
    };
    const outcome = new Set<string>();
    const done = (vm: VmEntry, count: number, where: StoredKeys["where"], reference: string) => {
        outcome.add(vm.key);
        result.stored.push({ vm, count, where, reference });
    };
    const fail = (vm: VmEntry, reason: string) => {
        outcome.add(vm.key);
        result.failed.push({ vm, reason });
    };
    const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

    if (args.dryRun) {
        for (const { vm, lines } of match.keys.values()) {
            const p = pathOf.get(vm.cloud)!;
            if (p.bitlocker.stackConfig === true) done(vm, lines.length, "stack config", importedKeyConfig(NAMESPACE, vm.slug).key);
            else if (p.storeKeySecret) done(vm, lines.length, "secret store", "(a secret of its own in the cloud's secret store)");
            else fail(vm, `the ${vm.cloud} recovery path has no place to keep BitLocker keys`);
        }
        return sorted();
    }

    const folder = new KeyFolder((signal) => {
        result.unfinished = [...match.keys.values()].map((k) => k.vm).filter((vm) => !outcome.has(vm.key));
        args.onInterrupt?.(sorted(), signal);
    });
    try {
        // Stack config is one file: its values are set in turn, and one failure does not stop the next.
        let configQueue: Promise<unknown> = Promise.resolve();
        const setConfig = (key: string, value: string, secret: boolean): Promise<void> => {
            const run = configQueue.then(() => {
                if (folder.stopped) throw new Error("the import was stopped");
                return args.setConfig(key, value, secret);
            });
            configQueue = run.catch(() => undefined);
            return run;
        };
        const pending: Promise<void>[] = [];
        const stores: (() => Promise<void>)[] = [];
        for (const { vm, lines } of match.keys.values()) {
            const p = pathOf.get(vm.cloud)!;
            const imported = importedKeyConfig(NAMESPACE, vm.slug);
            const text = `${lines.join("\n")}\n`;
            if (p.bitlocker.stackConfig === true) {
                pending.push(
                    setConfig(imported.key, text, true).then(
                        () => done(vm, lines.length, "stack config", imported.key),
                        (err) => fail(vm, why(err)),
                    ),
                );
            } else if (p.storeKeySecret) {
                const storeKeySecret = p.storeKeySecret;
                stores.push(async () => {
                    let reference: string;
                    let keyFile: string | undefined;
                    try {
                        // Written only now, just before its call; removed as soon as the call is over.
                        keyFile = folder.write(`${vm.slug}.keys`, text);
                        reference = await storeKeySecret(vm, { stack: args.stack, config: args.cloudConfigs.get(vm.cloud), keyFile });
                    } catch (err) {
                        return fail(vm, why(err));
                    } finally {
                        if (keyFile) folder.remove(keyFile);
                    }
                    try {
                        await setConfig(imported.secretRef, reference, false);
                        done(vm, lines.length, "secret store", reference);
                    } catch (err) {
                        fail(
                            vm,
                            `the keys are in ${reference}, but stack config ${imported.secretRef} was not set (${why(err)}); run the import again`,
                        );
                    }
                });
            } else {
                fail(vm, `the ${vm.cloud} recovery path has no place to keep BitLocker keys`);
            }
        }
        let next = 0;
        const worker = async () => {
            while (next < stores.length) await stores[next++]();
        };
        pending.push(...Array.from({ length: Math.min(STORES_AT_ONCE, stores.length) }, worker));
        await Promise.all(pending);
        await configQueue;
    } finally {
        folder.close();
    }
    return sorted();
}

/**
 * Sets a stack config value with the Pulumi CLI (`BOOTLOOP_PULUMI` of `env`, else `pulumi` on the
 * PATH), the value on standard input, as `pulumi config set` reads it when none is given.
 */
export function pulumiConfigSet(
    stack: string,
    cwd: string,
    env: Readonly<Record<string, string | undefined>> = process.env,
): (key: string, value: string, secret: boolean) => Promise<void> {
    return (key, value, secret) =>
        new Promise((resolve, reject) => {
            const child = spawn(
                env.BOOTLOOP_PULUMI || "pulumi",
                ["config", "set", ...(secret ? ["--secret"] : ["--plaintext"]), "--stack", stack, key],
                { cwd, stdio: ["pipe", "ignore", "pipe"] },
            );
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", (err) =>
                reject(new Error(`could not run pulumi (${err.message}): install the Pulumi CLI, or set BOOTLOOP_PULUMI`)),
            );
            child.on("close", (code) =>
                code === 0
                    ? resolve()
                    : reject(new Error(`pulumi config set ${key} failed (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`)),
            );
            // A CLI that fails before reading its input closes the pipe: that is its exit code's story, not a crash.
            child.stdin.on("error", () => undefined);
            child.stdin.end(value);
        });
}

/** The import's report, for people: what got keys, what has none, what matched nothing. Never a key. */
export function renderImport(result: ImportResult, source: string, dryRun: boolean): string {
    const { match, stored, failed } = result;
    const lines = [`import-keys: ${source}`];
    const verb = dryRun ? "would store" : "stored";
    lines.push(`  ${verb} keys of ${stored.length} VM${stored.length === 1 ? "" : "s"}:`);
    for (const s of stored)
        lines.push(`    ${s.vm.label}: ${s.count} recovery password${s.count === 1 ? "" : "s"} → ${s.where} ${s.reference}`);
    if (failed.length) {
        lines.push(`  FAILED for ${failed.length} VM${failed.length === 1 ? "" : "s"} (nothing stored for them):`);
        for (const f of failed) lines.push(`    ${f.vm.label}: ${terminalText(f.reason)}`);
    }
    if (result.unfinished.length) {
        lines.push(
            `  UNFINISHED for ${result.unfinished.length} VM${result.unfinished.length === 1 ? "" : "s"} (the import was stopped while their keys were being stored; they may or may not be stored: run the import again):`,
        );
        for (const vm of result.unfinished) lines.push(`    ${vm.label}`);
    }
    lines.push(
        `  no key in the export for ${match.withoutKey.length} VM${match.withoutKey.length === 1 ? "" : "s"}${match.withoutKey.length ? ":" : ""}`,
    );
    for (const vm of match.withoutKey) lines.push(`    ${vm.label}${vm.hostname ? ` (hostname ${vm.hostname})` : ""}`);
    if (match.unmatched.length)
        lines.push(
            `  rows matching no VM of the inventory: ${match.unmatched.length} (${match.unmatched.map((u) => `line ${u.line} ${u.machine}`).join(", ")})`,
        );
    if (match.ambiguous.length) {
        lines.push(`  rows matching more than one VM (not stored; give those VMs a hostname in the inventory): ${match.ambiguous.length}`);
        for (const a of match.ambiguous) lines.push(`    line ${a.line} ${a.machine}: ${a.vms.join(", ")}`);
    }
    if (match.duplicates.length) lines.push(`  duplicate rows (a key already taken for the same VM): lines ${match.duplicates.join(", ")}`);
    if (!dryRun && stored.length)
        lines.push("  next: `npm run plan -- --stack …` shows the VMs with keys; `pulumi up` hands them to the repairs");
    return lines.join("\n");
}
