// The stack's settings, validated, and where they are read from.
import { FailureBudget, WaveSettings } from "./plan";

/** The project's config namespace: keys are `bootloop-rescue:<key>`. */
export const NAMESPACE = "bootloop-rescue";

/** Reads stack config; implemented over `pulumi.Config` in the program and over plain maps in tests. */
export interface ConfigSource {
    /** The raw value of a fully qualified key (`bootloop-rescue:canary`), or undefined. */
    get(key: string): string | undefined;
    /** Whether a fully qualified key exists and whether it is a secret. */
    kind(key: string): "secret" | "plain" | "missing";
    /**
     * Every fully qualified key the stack sets, so a misspelt setting is refused instead of
     * ignored. Without it, the keys are those of the Pulumi runtime's config that this source
     * also has (the program and the offline plan hand the runtime the stack's config).
     */
    keys?(): readonly string[];
}

/** The stack's settings, validated. */
export interface Settings extends WaveSettings {
    /** Inventory file, relative to the project folder. */
    inventory: string;
    /** Failed VMs each wave after the canary may have before the next wave's gate stops the rollout (`failureBudget`). */
    failureBudget: FailureBudget;
    /** Per-cloud override of the disks one rescue VM holds (`*` applies to every cloud). */
    disksPerRescue: Readonly<Record<string, number>>;
    /** Remove rescue VMs, attachments and scratch disks; keep backups, fixed disks and records. */
    teardown: boolean;
    /** Minutes a VM may take to show a real boot signal after the swap. */
    bootTimeoutMinutes: number;
    /** Minutes one repair (agent ready, engine run) may take on its rescue VM. */
    repairTimeoutMinutes: number;
    /** Restarts the reboot strategies try before giving up on a VM. */
    maxReboots: number;
    /** Minutes to wait for a real boot signal after each restart. */
    rebootTimeoutMinutes: number;
    /** Strategy restore: the newest backup taken before this instant (ISO 8601, UTC) is used. */
    restoreBefore: string;
    /** The operator's acknowledgement that strategy restore loses data written after the backup. */
    acceptDataLoss: boolean;
    /** VMs to roll back: `all`, or VM names (labels or keys) as the config lists them. */
    rollback: "all" | readonly string[];
    /** VM chains between their first change and their verified boot at once (the rest wait in wave order). */
    maxInFlight: number;
    /** Whether `maxInFlight` came from the stack config or is this runner's default. */
    maxInFlightFrom: "config" | "runner";
    /** The repair engine's built-in rule set every repair of a Windows VM's disk runs (`ruleSet`). */
    ruleSet: RuleSet;
    /** The repair engine's built-in rule set every repair of a Linux VM's disk runs (`linuxRuleSet`). */
    linuxRuleSet: LinuxRuleSet;
    /**
     * The fraction (0 < x ≤ 1) of each cloud scope's published request budget this stack's runner may
     * spend (`rateShare`, default 1): shards that share an account, subscription or project split it.
     */
    rateShare: number;
}

/**
 * The repair engine's built-in rule sets (`repair-disk --rule-set`): the CrowdStrike channel file
 * 291 rule, and the same with the registry's TxR files moved into the quarantine (build 14393
 * and later), as Azure's fix script grew to do.
 */
export const RULE_SETS = ["crowdstrike-291", "crowdstrike-291-txr"] as const;

export type RuleSet = (typeof RULE_SETS)[number];

/**
 * The repair engine's built-in rule sets for Linux guests (`repair-disk --rule-set`): the 2024
 * Falcon sensor case (its service masked, its kernel modules blacklisted).
 */
export const LINUX_RULE_SETS = ["falcon-linux-2024"] as const;

export type LinuxRuleSet = (typeof LINUX_RULE_SETS)[number];

/** The rule set a VM's repair runs: the stack's `linuxRuleSet` for a Linux guest, else its `ruleSet`. */
export function ruleSetFor(settings: Pick<Settings, "ruleSet" | "linuxRuleSet">, vm: { os?: "linux" }): RuleSet | LinuxRuleSet {
    return vm.os === "linux" ? settings.linuxRuleSet : settings.ruleSet;
}
