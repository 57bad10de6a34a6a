// What a Run Command's script does on a rescue VM of the simulated Azure: the two scripts the
// program sends there. The tools script installs the rescue tools (the VM then has their
// version); a repair script runs on-rescue.sh for the disk at a LUN, as rescue/on-rescue.sh does
// it: it checks the tools' version, finds the disk, unlocks BitLocker with the BEKs it was given,
// and repairs the disk, which then boots (so does every copy made of it later), printing the one
// evidence line on-rescue.sh prints (gzip-base64 as asked). What it cannot do, it answers as
// on-rescue.sh and repair-disk do: their outcome, exit code and message.
import { createHash } from "crypto";
import * as zlib from "zlib";
import { AzDisk, AzVm, AzureWorld, findSnapshot, idKey } from "./azure-model";
import { SandboxFault } from "./faults";

/** What a script run printed and how it ended (a Run Command's instance view). */
export interface ScriptRun {
    exitCode: number;
    output: string;
    error: string;
}

/** A Run Command keeps the last 4,096 bytes of each stream in its instance view. */
const VIEW_BYTES = 4096;
const tail = (text: string) => {
    const b = Buffer.from(text);
    return b.length <= VIEW_BYTES ? text : b.subarray(b.length - VIEW_BYTES).toString();
};

const TOOLS_INSTALLED = /printf '%s\\n' '([0-9a-f]{16})' > \S+\/version\.new/;
const REPAIR = /^((?:[A-Z_][A-Z0-9_]*=\S*[ \t]+)*)exec \S+\/on-rescue\.sh[ \t]*$/m;

/** The rule sets repair-disk knows (--rule-set). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-in CLIs' own module (plain JavaScript)
const linuxGuest = require("../cli/linux-guest.js") as {
    LINUX_RULE_SETS: string[];
    repairLinux(a: { ruleSet: string; loops: boolean; earlier?: string; sizeBytes: number; path: string; at: string }): {
        boots?: boolean;
        evidence: { outcome: string; exitCode: number; message: string } & Record<string, unknown>;
    };
};
const RULE_SETS = ["crowdstrike-291", "crowdstrike-291-txr", ...linuxGuest.LINUX_RULE_SETS];

/** An evidence document's fields, or a part of them (rescue/evidence.schema.json). */
type Evidence = { outcome: string; exitCode: number; message: string } & Record<string, unknown>;
/** A disk's layout as repair-disk lists it (windows-guest.js windowsLayout). */
type Layout = { rules: unknown[]; disk: Record<string, unknown>; partitions: Record<string, unknown>[] };
/** The part of sandbox/cli/windows-guest.js this file uses (its doc comments say what each does). */
interface WindowsGuest {
    RULE_291: Record<string, string>;
    RULE_TXR: Record<string, string>;
    FAULTY_FILE: string;
    quarantineOf(at: string): string;
    repairDiskEvidence(common: { version: string; startedAt: string; finishedAt: string; durationMs: number }, body: Evidence): Evidence;
    windowsLayout(a: { rules: unknown[]; path: string; sizeBytes: number; bitlocker: boolean }): Layout;
    lockedEvidence(layout: Layout, message: string): Evidence;
    unlock(
        layout: Layout,
        unlockedWith: { protector: string; keyId: string | null; tries: number },
        protectors?: { type: string; id: string }[],
    ): void;
    repairWindows(
        layout: Layout,
        a: { loops: boolean; earlier?: string; at: string; sha256: string },
    ): { repaired: boolean; evidence: Evidence };
}
/** The evidence of a Windows guest's disk, as the stand-in aws writes it too (plain JavaScript, shared with the CLIs). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-in CLIs' own module (plain JavaScript)
const windowsGuest = require("../cli/windows-guest.js") as WindowsGuest;
const { RULE_291, RULE_TXR } = windowsGuest;

/**
 * Runs `script` on the rescue VM `vm` with the Run Command's parameters (its protected ones
 * included) as its environment, changing the world as the script would; `name` is the Run
 * Command's, `now` the time it runs.
 */
export function runOnRescueVm(
    world: AzureWorld,
    vm: AzVm,
    script: string,
    parameters: Record<string, string>,
    name: string,
    now: Date,
): ScriptRun {
    const tools = TOOLS_INSTALLED.exec(script);
    if (tools) {
        vm.rescueTools = tools[1];
        return { exitCode: 0, output: "", error: "" };
    }
    const repair = REPAIR.exec(script);
    if (!repair) {
        return {
            exitCode: 127,
            output: "",
            error: "the sandbox's rescue VM runs only the bootloop-rescue tools script and on-rescue.sh; this script is neither\n",
        };
    }
    const env: Record<string, string> = { ...parameters };
    for (const word of repair[1]
        .trim()
        .split(/[ \t]+/)
        .filter(Boolean)) {
        const at = word.indexOf("=");
        env[word.slice(0, at)] = word.slice(at + 1);
    }
    const run = onRescue(world, vm, env, name, now);
    return { exitCode: run.exitCode, output: tail(run.output), error: tail(run.error) };
}

/** on-rescue.sh's answer when it cannot run the repair: one JSON line, exit 6. */
function cannotRun(message: string, stderr = ""): ScriptRun {
    return {
        exitCode: 6,
        output: `${JSON.stringify({ tool: "bootloop-rescue/on-rescue", outcome: "error", exitCode: 6, message })}\n`,
        error: stderr,
    };
}

function onRescue(world: AzureWorld, vm: AzVm, env: Record<string, string>, name: string, now: Date): ScriptRun {
    const version = env.TOOLS_VERSION ?? "";
    if (version) {
        if (!/^[0-9a-f]{16}$/.test(version)) return cannotRun("TOOLS_VERSION is not a tools version");
        if (vm.rescueTools !== version)
            return cannotRun(`rescue tools ${version} are not installed`, `bootloop-rescue: rescue tools ${version} are not installed\n`);
    }
    if (env.DISK_HANDLE_KIND !== "azure-lun") return cannotRun("unknown disk handle kind");
    if (!env.DISK_HANDLE) return cannotRun("no disk handle given");
    if (env.REBOOT_STATUS === "recovered") {
        const skipped = {
            tool: "bootloop-rescue/on-rescue",
            outcome: "skipped",
            exitCode: 0,
            message: "the VM recovered by reboot; its disk was not repaired",
            volumes: [],
        };
        return { exitCode: 0, output: `${JSON.stringify(skipped)}\n`, error: "" };
    }
    const diskId = vm.dataDisks[env.DISK_HANDLE];
    const disk = diskId ? world.disks[idKey(diskId)] : undefined;
    if (!disk) return cannotRun("find-disk did not find the attached disk on the rescue VM (or refused it as in use)");
    const ruleSet = env.RULE_SET || "crowdstrike-291";
    const evidence =
        lineageOf(world, disk, "guest") === "linux"
            ? repairLinuxDisk(disk, faultOf(world, disk), ruleSet, `/dev/disk/azure/scsi1/lun${env.DISK_HANDLE}`, name, now)
            : repairDisk(disk, faultOf(world, disk), env, ruleSet, `/dev/disk/azure/scsi1/lun${env.DISK_HANDLE}`, name, now);
    const line = JSON.stringify(evidence);
    const printed = env.EVIDENCE_ENCODING === "gzip-base64" ? `gzip-base64:${zlib.gzipSync(line).toString("base64")}` : line;
    const error = evidence.exitCode === 0 ? "" : `repair-disk: ${String(evidence.outcome)}: ${String(evidence.message)}\n`;
    // As on-rescue.sh: 3, 4 and 5 exit 0, except for disks at a LUN (Azure's), whose code stays.
    const exitCode = [3, 4, 5].includes(evidence.exitCode) && env.DISK_HANDLE_KIND !== "azure-lun" ? 0 : evidence.exitCode;
    return { exitCode, output: `${printed}\n`, error };
}

/** The BEK files given (BITLOCKER_BEK: base64, separated by spaces), by their SHA-256. */
function bekHashes(env: Record<string, string>): string[] {
    return (env.BITLOCKER_BEK ?? "")
        .split(/\s+/)
        .filter(Boolean)
        .map((b) => createHash("sha256").update(Buffer.from(b, "base64")).digest("hex"));
}

/** repair-disk on the disk: its evidence document (the schema of rescue/evidence.schema.json; windows-guest.js writes it). */
function repairDisk(
    disk: AzDisk,
    fault: SandboxFault | undefined,
    env: Record<string, string>,
    ruleSet: string,
    path: string,
    name: string,
    now: Date,
) {
    const at = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    const written = (body: Evidence) =>
        windowsGuest.repairDiskEvidence({ version: "1.0.0", startedAt: at, finishedAt: at, durationMs: 2140 }, body);
    if (!RULE_SETS.includes(ruleSet))
        return written({
            outcome: "bad-arguments",
            message: `argument --rule-set: invalid choice: '${ruleSet}' (choose from ${RULE_SETS.join(", ")})`,
            exitCode: 2,
        });
    const rules = ruleSet === "crowdstrike-291-txr" ? [RULE_291, RULE_TXR] : [RULE_291];
    const layout = windowsGuest.windowsLayout({ rules, path, sizeBytes: disk.diskSizeGB * 2 ** 30, bitlocker: Boolean(disk.bitlocker) });
    if (disk.bitlocker) {
        const given = bekHashes(env);
        const tries = given.findIndex((h) => disk.bitlocker!.bekSha256.includes(h));
        if (given.length === 0)
            return written(
                windowsGuest.lockedEvidence(
                    layout,
                    "partition(s) 3 are BitLocker-encrypted and no key was given (--bitlocker-key-file, --bitlocker-bek-file)",
                ),
            );
        if (tries < 0)
            return written(
                windowsGuest.lockedEvidence(
                    layout,
                    `BitLocker: none of the ${given.length} keys tried unlocked the volume (BitLocker: external key file did not unlock the volume)`,
                ),
            );
        windowsGuest.unlock(layout, { protector: "external-key", keyId: null, tries: tries + 1 });
    }
    // A sandbox fault of the VM (seeded from its inventory label sandbox-fault on its original OS
    // disk; the disk's copies lead back to it). A Linux rule set has no rule for a Windows disk.
    const findsNothing = fault === "repair-finds-nothing" || linuxGuest.LINUX_RULE_SETS.includes(ruleSet);
    const { repaired, evidence } = windowsGuest.repairWindows(layout, {
        loops: !disk.boots && !disk.repaired && !findsNothing,
        earlier: disk.repaired ? windowsGuest.quarantineOf(disk.repaired.at) : undefined,
        at,
        sha256: createHash("sha256").update(`${disk.uniqueId} ${windowsGuest.FAULTY_FILE}`).digest("hex"),
    });
    if (repaired) {
        // A disk that never boots gets its faulty file moved all the same, and still loops.
        if (fault !== "never-boots") disk.boots = true;
        disk.repaired = { runCommand: name, at };
    }
    return written(evidence);
}

/** repair-disk on a Linux guest's disk (sandbox/cli/linux-guest.js), by the rule set the Run Command gave it. */
function repairLinuxDisk(disk: AzDisk, fault: SandboxFault | undefined, ruleSet: string, path: string, name: string, now: Date) {
    const at = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    const { boots, evidence } = linuxGuest.repairLinux({
        ruleSet,
        loops: !disk.boots && !disk.repaired && fault !== "repair-finds-nothing",
        earlier: disk.repaired ? windowsGuest.quarantineOf(disk.repaired.at) : undefined,
        sizeBytes: disk.diskSizeGB * 2 ** 30,
        path,
        at,
    });
    if (boots) {
        // A disk that never boots gets its rules applied all the same, and still loops.
        if (fault !== "never-boots") disk.boots = true;
        disk.repaired = { runCommand: name, at };
    }
    return windowsGuest.repairDiskEvidence({ version: "1.0.0", startedAt: at, finishedAt: at, durationMs: 2140 }, evidence);
}

/** The sandbox fault of the VM a disk came from. */
function faultOf(world: AzureWorld, disk: AzDisk): SandboxFault | undefined {
    return lineageOf(world, disk, "fault");
}

/** A property of the VM a disk came from (its sandbox fault, its guest OS): its own, or that of the disk its copy or snapshot was made of. */
function lineageOf<K extends "fault" | "guest">(world: AzureWorld, disk: AzDisk, key: K): AzDisk[K] | undefined {
    let d: AzDisk | undefined = disk;
    for (let hops = 0; d && hops < 8; hops++) {
        if (d[key]) return d[key];
        const source: string | undefined = d.creationData.sourceResourceId;
        if (!source) return undefined;
        const snapshot = findSnapshot(world, source);
        d = world.disks[idKey(snapshot ? snapshot[1].source : source)];
    }
    return undefined;
}
