import type { ScaleGroup } from "../../core/contract/scale-group";
import type { ConfigSource } from "../../core/contract/settings";

/**
 * Discovery (`npm run discover`): what each cloud gives core to find the boot-looping Windows VMs
 * of a scope from outside the guest, with read-only calls. Core never branches on the cloud: it
 * asks each cloud's {@link CloudDiscovery} for its scopes, a batched listing per scope, and per-VM
 * reads only where the listing and the Falcon export leave a question.
 */

/** Runs one read-only CLI call under the runner's limits, retried while the cloud is busy. */
export interface DiscoveryCli {
    /**
     * Runs `command args…` in `scope` (an account+region, a subscription, a project) and resolves
     * with its stdout. Throttling, conflicts, CLI locks and 5xx are retried with jittered backoff;
     * a permanent error (not found, access denied, bad parameter) rejects at once with the cloud's
     * message.
     */
    run(call: { cloud: string; scope: string; op: string; command: string; args: string[]; env?: Record<string, string> }): Promise<string>;
}

/** One place a cloud is scanned in: an AWS account and region, an Azure subscription, a GCP project. */
export interface DiscoveryScope {
    /** The `cloud:` value. */
    cloud: string;
    /** Account id, subscription id or project id. */
    scope: string;
    /** Its human name where the cloud has one (account alias, subscription or project name), else "". */
    scopeName: string;
    /** The region scanned (AWS), or "" where one listing covers every region. */
    region: string;
    /** What the cloud module needs to scan it (a role to assume, zones, resource groups). */
    fields: Readonly<Record<string, string>>;
}

/** What the batched listing says about a VM's boot. */
export type ListedHealth = "failing" | "healthy" | "unknown";

/** A Windows VM (or, with `--guests linux`, a Linux VM) as a scope's batched listing shows it. */
export interface ListedVm {
    /** The `cloud:` value. */
    cloud: string;
    /** `linux` for a Linux VM (its entry says `os: linux`); absent for Windows. */
    os?: "linux";
    /** The inventory fields that name it (valid by the cloud identity's patterns). */
    fields: Record<string, string>;
    /** Where it is: scope id and name, region, zone ("" when not zonal). */
    scope: string;
    scopeName: string;
    region: string;
    zone: string;
    /** Its name in the cloud (Name tag, VM name, instance name), for messages and matching. */
    name: string;
    /** The Windows computer name, where the cloud reports it. */
    computerName?: string;
    /** Every name a Falcon host row may carry for it (lowercase: VM name, computer name, DNS names). */
    hostnames: string[];
    /** Every id a Falcon row's instance id column may carry for it (lowercase). */
    instanceIds: string[];
    /** `running`, `stopped`, or `other` with the cloud's own word in `powerState`. */
    power: "running" | "stopped" | "other";
    /** The cloud's own power state (`running`, `deallocated`, `TERMINATED`, …). */
    powerState: string;
    /** The scale group it belongs to, and how to take it out, if any. */
    scaleGroup?: ScaleGroup;
    /** Why the stack cannot recover it at all (e.g. an instance-store root), if so. */
    noRescuePath?: string;
    /** What the listing's status says about its boot. */
    health: ListedHealth;
    /** What the listing showed, as reasons (`instance status check impaired`). */
    signals: string[];
    /** Whether a per-VM read (console, serial or boot log) can say more. */
    readable: boolean;
    /** What the cloud module keeps for that read. */
    memo: Record<string, string>;
}

/** What a per-VM read of the console, serial port or boot log showed. */
export interface OutputRead {
    /**
     * The guest crashed since it last booted: a Windows stop error (bugcheck), or on a Linux guest
     * a kernel panic, emergency mode or a dracut shell ({@link consoleVerdict}).
     */
    bugcheck: boolean;
    /** The guest reported a finished boot since the last start. */
    booted: boolean;
    /** The guest agent shows signs of life (guest attributes written, …). */
    agent?: boolean;
    /** What the read showed, as reasons. */
    signals: string[];
}

/** A scope option a cloud takes (`--regions`), checked before any call. */
export interface ScopeOption {
    /** The flag, e.g. `--regions`. */
    flag: string;
    /** A comma-separated list of values, each matching this pattern. */
    pattern: RegExp;
    /** What a valid value looks like, for the error. */
    expected: string;
    /** What it selects, for the usage text. */
    help: string;
}

/** Where discovery takes each cloud's settings from: the options given and the stack config. */
export interface ScopeRequest {
    /** The values of this cloud's scope options, split at commas (absent: not given). */
    options: Readonly<Record<string, readonly string[]>>;
    /** The config of `--stack` (e.g. the AWS roles to assume per account); empty without it. */
    config: ConfigSource;
    /** The stack config file (`Pulumi.prod.yaml`), for messages. */
    stackFile: string;
    /** The guests to find (`--guests`): Windows only (the default), or Linux VMs too. */
    guests?: readonly ("windows" | "linux")[];
}

/** One cloud's part of discovery; each cloud folder exports one (`discover.ts`). */
export interface CloudDiscovery {
    /** The `cloud:` value. */
    cloud: string;
    /** Its scope options. */
    options: readonly ScopeOption[];
    /** The read-only actions its calls need (for the README and the deployer role tests). */
    readActions: readonly string[];
    /** The label keys carrying the scope id and name on its entries (`account`, `accountName`). */
    scopeLabel: string;
    /**
     * The scopes to scan: those the options name, else every one the login can read (enabled
     * regions, readable subscriptions, the zones of each project). Rejects with an
     * {@link OptionError} for a scope the options name but the login cannot reach.
     */
    scopes(request: ScopeRequest, cli: DiscoveryCli): Promise<DiscoveryScope[]>;
    /**
     * One batched listing of a scope: its Windows VMs, and how many VMs it skipped as not Windows
     * (undefined where the listing asks the cloud for Windows VMs only).
     */
    list(scope: DiscoveryScope, cli: DiscoveryCli): Promise<{ vms: ListedVm[]; notWindows?: number }>;
    /** Reads one VM's console, serial port or boot log. */
    read(vm: ListedVm, scope: DiscoveryScope, cli: DiscoveryCli): Promise<OutputRead>;
}

/** A bad command-line option: names the option; nothing was called or written. */
export class OptionError extends Error {}

/** Windows stop errors as the console or serial output shows them. */
export const BUGCHECK =
    /STOP[: ]+0x[0-9A-Fa-f]{8}|BugCheck|bugcheck|Stop code|KERNEL_SECURITY_CHECK_FAILURE|PAGE_FAULT_IN_NONPAGED_AREA|SYSTEM_THREAD_EXCEPTION_NOT_HANDLED|CSAgent\.sys|csagent\.sys/;

/** Where the last match of `re` starts in `text`, or -1. */
function lastIndex(text: string, re: RegExp): number {
    const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
    let last = -1;
    for (const m of text.matchAll(global)) last = m.index ?? last;
    return last;
}

/**
 * What a console or serial output says about the last boot: a stop error after the last boot
 * marker (the VM crashed since it last booted), or a boot marker after the last stop error (it
 * booted since, e.g. with the reverted file). Neither: it cannot tell.
 */
export function bootVerdict(output: string, marker: RegExp): { bugcheck: boolean; booted: boolean } {
    const crash = lastIndex(output, BUGCHECK);
    const boot = lastIndex(output, marker);
    return { bugcheck: crash >= 0 && crash > boot, booted: boot >= 0 && boot > crash };
}

/**
 * A Linux guest that did not come up, as its console or serial output shows it: the kernel's
 * panic, systemd's emergency mode (a unit the boot needs failed: an fstab line, a module), or
 * dracut giving up on the root device and dropping to its shell.
 */
export const LINUX_LOOP =
    /Kernel panic - not syncing|You are in emergency mode|Entering emergency mode|Reached target Emergency Mode|dracut-initqueue timeout|Starting Dracut Emergency Shell|Dropping to debug shell|dracut:\/#/;

/** What a guest OS's console looks like when it crashed, and how each is described. */
const CRASH: Record<"windows" | "linux", { pattern: RegExp; what: string }> = {
    windows: { pattern: BUGCHECK, what: "a Windows stop error" },
    linux: { pattern: LINUX_LOOP, what: "a Linux boot failure (kernel panic, emergency mode or a dracut shell)" },
};

/**
 * What a console or serial output says about a guest's last boot, by its OS: a crash (a Windows
 * stop error; a Linux kernel panic, emergency mode or dracut shell) after the last boot marker,
 * or a boot marker (the OS's own: Windows' ready message, a Linux login prompt or cloud-init's
 * "finished") after the last crash; neither, it cannot tell. `where` names the output in the
 * reason ("in the console output", "on serial port 1"). One pure function: every cloud's read
 * hands it the text it gathered.
 */
export function consoleVerdict(
    output: string,
    os: "windows" | "linux",
    marker: RegExp,
    where: string,
): { bugcheck: boolean; booted: boolean; signals: string[] } {
    const crash = lastIndex(output, CRASH[os].pattern);
    const boot = lastIndex(output, marker);
    const bugcheck = crash >= 0 && crash > boot;
    const booted = boot >= 0 && boot > crash;
    const lastLine = bugcheck ? (output.slice(crash).split("\n")[0] ?? "").trim().slice(0, 120) : "";
    return {
        bugcheck,
        booted,
        signals: bugcheck
            ? [`${CRASH[os].what} ${where}${os === "linux" && lastLine ? ` (${lastLine})` : ""}`]
            : booted
              ? []
              : [output === "" ? `nothing ${where}` : `no boot marker ${where}`],
    };
}

/** A per-VM read that could not be made (denied, not enabled, still busy): no evidence either way, and why. */
export function unreadable(what: string, err: unknown): OutputRead {
    const last = (err instanceof Error ? err.message : String(err)).split("\n").filter(Boolean).pop() ?? "";
    return { bugcheck: false, booted: false, signals: [`${what} not readable: ${last.slice(0, 200)}`] };
}
