import * as os from "os";
import * as path from "path";
import { nearestName } from "./contract/nearest";
import { Problem, InputError, show } from "./contract/problems";
import { importedKeyConfig } from "./inventory/entry-fields";
import { FailureBudget, WaveSettings } from "./contract/plan";
import { parseRateShare } from "./rate-share";
import { ConfigSource, LINUX_RULE_SETS, LinuxRuleSet, NAMESPACE, RULE_SETS, RuleSet, Settings } from "./contract/settings";

/**
 * VM chains one runner carries at once by default: 500 per core, at most 2,000. A chain in flight
 * costs the runner one waiting shell (about 1 MB) and a handful of CLI calls over its life; the
 * watcher batches every wait and its gate bounds the CLI processes, so the bound is memory and
 * the clouds' rate limits, not polling.
 */
export function defaultMaxInFlight(cores: number = os.availableParallelism?.() ?? os.cpus().length): number {
    return Math.min(2000, 500 * Math.max(1, cores));
}

/**
 * The failed VMs a wave after the canary may have by default: 5% of it. Sporadic failures (a
 * missing BitLocker key, a disk unlike the others) are expected at fleet size and must not stop
 * thousands of VMs; a fix that fails for a whole class of VMs fails far more than that.
 */
export const DEFAULT_FAILURE_BUDGET_PERCENT = 5;

/** The first faulty channel file was published at 04:09 UTC on 2024-07-19. */
export const DEFAULT_RESTORE_BEFORE = "2024-07-19T04:09:00Z";

/** Every config key the project reads, with its meaning (docs/reference.md and error messages use it). */
export const CONFIG_KEYS: Record<string, string> = {
    inventory: "inventory file of this stack, relative to the project folder (YAML or CSV, under stacks/); required",
    canary: "VMs in the canary wave 0: a count (default 1) or a percentage such as 5%",
    waveSize: "VMs per wave after the canary (default: all of them in wave 1)",
    failureBudget:
        "VMs of a wave that may fail (each recorded failed, the rest of the fleet going on) before the next wave's gate stops the rollout: a count or a percentage of the wave such as 5% (default 5%); the canary wave's budget is always 0",
    disksPerRescue: "disks one rescue VM repairs at once: a number for every cloud, or a map such as {aws: 20, gcp: 16}",
    teardown: "true removes rescue VMs, attachments and scratch disks; backups, fixed disks and records stay (default false)",
    bootTimeoutMinutes: "minutes a VM may take to pass its boot checks after the swap before it is recorded failed (default 20)",
    repairTimeoutMinutes: "minutes a repair may take on the rescue VM, including waiting for its agent (default 30)",
    maxReboots: "strategies reboot and reboot-then-repair: restarts to try before giving up on a VM (default 15, at most 100)",
    rebootTimeoutMinutes: "minutes to wait for a real boot signal after each restart (default 5)",
    restoreBefore: `strategy restore: use the newest backup taken before this UTC instant (default 2024-07-19T04:09:00Z, the first faulty channel file)`,
    acceptDataLoss: "must be true when any VM has strategy restore: data written after its backup is lost",
    rollback: 'VMs whose original OS disk is swapped back in: all, or a list of VM names (labels or keys), e.g. ["aws us-east-1/i-0abc…"]',
    maxInFlight:
        "VM chains between their first change and their verified boot at once, the rest waiting their turn in wave order (default 500 per core of the runner, at most 2000; `npm run plan` prints it with the `--parallel` to use)",
    tags: 'map of tags (labels on gcp) for everything the stack creates, e.g. {CostCenter: "4711", Owner: platform}; each cloud checks them against its rules, and awsTags, azureTags or gcpLabels replace them on one cloud',
    ruleSet: `the repair engine's built-in rule set: ${RULE_SETS.join(" or ")} (default ${RULE_SETS[0]}; the second also moves the registry's TxR files into the quarantine on Windows Server 2016 and later)`,
    linuxRuleSet: `the repair engine's built-in rule set for VMs whose inventory entry says os: linux: ${LINUX_RULE_SETS.join(" or ")} (default ${LINUX_RULE_SETS[0]}: masks the Falcon sensor's service and blacklists its kernel modules)`,
    rateShare:
        "the fraction of each cloud scope's published request budget (an AWS account and region, an Azure subscription, a GCP project) this stack's runner may spend, as a decimal or a fraction from 0 (excluded) to 1, e.g. 0.25 or 1/4 (default 1); `npm run shard` writes it when shards share a scope",
};

const cloudKeys = new Map<string, Readonly<Record<string, string>>>();

/**
 * Declares a cloud's own config keys where they are defined (each cloud's `config.ts`), so that
 * {@link readSettings} knows them without a list of its own; returns them unchanged.
 */
export function declareCloudConfigKeys<K extends Record<string, string>>(cloud: string, keys: K): K {
    cloudKeys.set(cloud, keys);
    return keys;
}

/** Every setting the project reads: core's {@link CONFIG_KEYS} and each declared cloud's own keys. */
export function knownConfigKeys(): string[] {
    return [...Object.keys(CONFIG_KEYS), ...[...cloudKeys.values()].flatMap((keys) => Object.keys(keys))];
}

/**
 * Whether a fully qualified key of the namespace is one the project knows: a setting, or a key
 * `npm run import-keys` writes per VM (`bitlocker-<stem>`, `bitlockerSecret-<stem>`).
 */
export function isKnownConfigKey(fullKey: string, known: ReadonlySet<string> = new Set(knownConfigKeys())): boolean {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) return false;
    const imported = importedKeyConfig(NAMESPACE, "");
    return known.has(fullKey.slice(NAMESPACE.length + 1)) || fullKey.startsWith(imported.key) || fullKey.startsWith(imported.secretRef);
}

/** The stack's keys: the source's own list, else those of the Pulumi runtime's config the source also has. */
function stackKeys(config: ConfigSource): readonly string[] {
    if (config.keys) return config.keys();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only a source without its own key list (the Pulumi program's) needs the Pulumi runtime; importing settings loads no SDK
    const runtime = require("@pulumi/pulumi/runtime/config") as { allConfig(): Record<string, string> };
    return Object.keys(runtime.allConfig()).filter((k) => config.kind(k) !== "missing");
}

/**
 * Refuses the keys of the project's namespace that no code reads: a misspelt setting
 * (`wavesize`) would otherwise be ignored and its default decide, say, that every VM is in one
 * wave. Secret keys hold BitLocker recovery passwords under names the inventory chooses
 * (`bitlockerKey`), so a secret is refused only when it is close to a setting's name.
 */
function refuseUnknownKeys(config: ConfigSource, bad: (key: string, message: string) => void): void {
    const known = new Set(knownConfigKeys());
    for (const full of stackKeys(config)) {
        if (!full.startsWith(`${NAMESPACE}:`) || isKnownConfigKey(full, known)) continue;
        const key = full.slice(NAMESPACE.length + 1);
        const near = nearestName(key, known);
        if (near === undefined && config.kind(full) === "secret") continue;
        bad(
            key,
            `is not a setting of this project${near ? `: did you mean ${near}?` : ` (the settings are listed in docs/reference.md, "Stack config keys")`} Nothing is declared until it is fixed or removed, as a misspelt setting would be ignored and its default used`,
        );
    }
}

/** What is wrong with the `inventory` setting's value (missing, or a path outside the project), or undefined. */
export function inventoryPathProblem(inventory: string | undefined): string | undefined {
    if (inventory === undefined || inventory.trim() === "")
        return "missing; set it to this stack's inventory file, e.g. `pulumi config set inventory stacks/prod.yaml`";
    if (path.isAbsolute(inventory) || inventory.split(/[\\/]/).includes(".."))
        return `${show(inventory)} must be a path inside the project folder (relative, no '..'), so every machine plans the same stack`;
    return undefined;
}

/**
 * Reads and validates the settings. Throws one {@link InputError} naming `stackFile` and the key
 * for every bad value and every key of the namespace the project does not read (with the nearest
 * setting's name), so a bad config stops the run before anything is declared.
 */
export function readSettings(config: ConfigSource, stackFile: string, clouds: ReadonlyMap<string, { max: number }>): Settings {
    const problems: Problem[] = [];
    const bad = (key: string, message: string) => problems.push({ file: stackFile, field: `${NAMESPACE}:${key}`, message });
    const get = (key: string) => config.get(`${NAMESPACE}:${key}`);
    refuseUnknownKeys(config, bad);

    const inventory = get("inventory");
    const inventoryProblem = inventoryPathProblem(inventory);
    if (inventoryProblem) bad("inventory", inventoryProblem);

    let canary: WaveSettings["canary"] = { count: 1 };
    const canaryText = get("canary");
    if (canaryText !== undefined) {
        const pct = /^(\d{1,3}(\.\d+)?)%$/.exec(canaryText.trim());
        if (pct && Number(pct[1]) <= 100) canary = { percent: Number(pct[1]) };
        else if (/^\d{1,6}$/.test(canaryText.trim())) canary = { count: Number(canaryText) };
        else bad("canary", `${show(canaryText)} is not a VM count or a percentage (e.g. 1, or 5%)`);
    }

    let failureBudget: FailureBudget = { percent: DEFAULT_FAILURE_BUDGET_PERCENT };
    const budgetText = get("failureBudget");
    if (budgetText !== undefined) {
        const pct = /^(\d{1,3}(\.\d+)?)%$/.exec(budgetText.trim());
        if (pct && Number(pct[1]) <= 100) failureBudget = { percent: Number(pct[1]) };
        else if (/^\d{1,6}$/.test(budgetText.trim())) failureBudget = { count: Number(budgetText) };
        else bad("failureBudget", `${show(budgetText)} is not a VM count or a percentage of the wave (e.g. 0, 3, or 5%)`);
    }

    let waveSize: number | undefined;
    const waveText = get("waveSize");
    if (waveText !== undefined) {
        if (/^\d{1,6}$/.test(waveText.trim()) && Number(waveText) >= 1) waveSize = Number(waveText);
        else bad("waveSize", `${show(waveText)} is not a positive whole number`);
    }

    const disksPerRescue: Record<string, number> = {};
    const disksText = get("disksPerRescue");
    if (disksText !== undefined) {
        let parsed: unknown = disksText;
        if (disksText.trim().startsWith("{")) {
            try {
                parsed = JSON.parse(disksText);
            } catch {
                parsed = undefined;
            }
        }
        const entries: [string, unknown][] =
            typeof parsed === "string" ? [["*", parsed]] : typeof parsed === "object" && parsed !== null ? Object.entries(parsed) : [];
        if (entries.length === 0) bad("disksPerRescue", `${show(disksText)} is not a number or a map of cloud: number`);
        for (const [cloud, value] of entries) {
            const n = typeof value === "number" ? value : typeof value === "string" && /^\d{1,4}$/.test(value.trim()) ? Number(value) : NaN;
            const limits = cloud === "*" ? [...clouds.values()] : clouds.has(cloud) ? [clouds.get(cloud)!] : undefined;
            const max = limits ? Math.min(...limits.map((l) => l.max)) : undefined;
            if (!limits) bad("disksPerRescue", `unknown cloud ${show(cloud)}; expected one of ${[...clouds.keys()].join(", ")}`);
            else if (!Number.isInteger(n) || n < 1 || (max !== undefined && n > max))
                bad("disksPerRescue", `${show(value)} for ${cloud} must be a whole number from 1 to ${max}`);
            else disksPerRescue[cloud] = n;
        }
    }

    let teardown = false;
    const teardownText = get("teardown");
    if (teardownText !== undefined) {
        if (teardownText === "true" || teardownText === "false") teardown = teardownText === "true";
        else bad("teardown", `${show(teardownText)} must be true or false`);
    }

    const minutes = (key: string, fallback: number) => {
        const text = get(key);
        if (text === undefined) return fallback;
        if (/^\d{1,4}$/.test(text.trim()) && Number(text) >= 1 && Number(text) <= 1440) return Number(text);
        bad(key, `${show(text)} must be a whole number of minutes from 1 to 1440`);
        return fallback;
    };
    const bootTimeoutMinutes = minutes("bootTimeoutMinutes", 20);
    const repairTimeoutMinutes = minutes("repairTimeoutMinutes", 30);
    const rebootTimeoutMinutes = minutes("rebootTimeoutMinutes", 5);

    let maxReboots = 15;
    const rebootsText = get("maxReboots");
    if (rebootsText !== undefined) {
        if (/^\d{1,3}$/.test(rebootsText.trim()) && Number(rebootsText) >= 1 && Number(rebootsText) <= 100)
            maxReboots = Number(rebootsText);
        else bad("maxReboots", `${show(rebootsText)} must be a whole number of restarts from 1 to 100`);
    }

    let restoreBefore = DEFAULT_RESTORE_BEFORE;
    const beforeText = get("restoreBefore");
    if (beforeText !== undefined) {
        const normal = utcInstant(beforeText.trim());
        if (normal) restoreBefore = normal;
        else bad("restoreBefore", `${show(beforeText)} is not a UTC instant; write it as 2024-07-19T04:09:00Z`);
    }

    let acceptDataLoss = false;
    const acceptText = get("acceptDataLoss");
    if (acceptText !== undefined) {
        if (acceptText === "true" || acceptText === "false") acceptDataLoss = acceptText === "true";
        else bad("acceptDataLoss", `${show(acceptText)} must be true or false`);
    }

    let rollback: Settings["rollback"] = [];
    const rollbackText = get("rollback");
    if (rollbackText !== undefined && rollbackText.trim() !== "") {
        const parsed = parseList(rollbackText);
        if (parsed === "all") rollback = "all";
        else if (parsed) rollback = parsed;
        else bad("rollback", `${show(rollbackText)} is not "all" or a list of VM names (a YAML/JSON list of strings)`);
    }

    let maxInFlight = defaultMaxInFlight();
    const inFlightText = get("maxInFlight");
    if (inFlightText !== undefined) {
        if (/^\d{1,6}$/.test(inFlightText.trim()) && Number(inFlightText) >= 1 && Number(inFlightText) <= 100_000)
            maxInFlight = Number(inFlightText);
        else bad("maxInFlight", `${show(inFlightText)} must be a whole number of VM chains from 1 to 100000`);
    }

    let ruleSet: RuleSet = RULE_SETS[0];
    const ruleSetText = get("ruleSet");
    if (ruleSetText !== undefined) {
        const found = RULE_SETS.find((r) => r === ruleSetText.trim());
        if (found) ruleSet = found;
        else bad("ruleSet", `${show(ruleSetText)} is not a built-in rule set; expected ${RULE_SETS.join(" or ")}`);
    }

    let linuxRuleSet: LinuxRuleSet = LINUX_RULE_SETS[0];
    const linuxRuleSetText = get("linuxRuleSet");
    if (linuxRuleSetText !== undefined) {
        const found = LINUX_RULE_SETS.find((r) => r === linuxRuleSetText.trim());
        if (found) linuxRuleSet = found;
        else
            bad(
                "linuxRuleSet",
                `${show(linuxRuleSetText)} is not a built-in rule set for Linux guests; expected ${LINUX_RULE_SETS.join(" or ")}`,
            );
    }

    let rateShare = 1;
    const shareText = get("rateShare");
    if (shareText !== undefined) {
        const share = parseRateShare(shareText);
        if (share !== undefined) rateShare = share;
        else
            bad(
                "rateShare",
                `${show(shareText)} is not a share of the scopes' request budgets: a decimal or a fraction greater than 0 and at most 1, e.g. 0.25 or 1/4`,
            );
    }

    if (problems.length > 0) throw new InputError(problems);
    return {
        inventory: inventory!,
        canary,
        waveSize,
        failureBudget,
        disksPerRescue,
        teardown,
        bootTimeoutMinutes,
        repairTimeoutMinutes,
        maxReboots,
        rebootTimeoutMinutes,
        restoreBefore,
        acceptDataLoss,
        rollback,
        maxInFlight,
        maxInFlightFrom: inFlightText === undefined ? "runner" : "config",
        ruleSet,
        linuxRuleSet,
        rateShare,
    };
}

/** A UTC instant written `YYYY-MM-DDTHH:MM[:SS]Z`, normalised to seconds; undefined when it is not one. */
export function utcInstant(text: string): string | undefined {
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?Z$/.exec(text);
    if (!m) return undefined;
    const normal = `${m[1]}T${m[2]}${m[3] ?? ":00"}Z`;
    const t = new Date(normal);
    return !isNaN(t.getTime()) && t.toISOString().replace(".000Z", "Z") === normal ? normal : undefined;
}

/** `all`, a JSON list of strings (how Pulumi stores a YAML list), or one name or comma-separated names. */
function parseList(text: string): "all" | string[] | undefined {
    const trimmed = text.trim();
    if (trimmed === "all") return "all";
    if (trimmed.startsWith("[")) {
        try {
            const value: unknown = JSON.parse(trimmed);
            if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v.trim() !== "")) {
                return value.length === 1 && value[0] === "all" ? "all" : (value as string[]).map((v) => v.trim());
            }
        } catch {
            return undefined;
        }
        return undefined;
    }
    const names = trimmed.split(",").map((n) => n.trim());
    return names.every((n) => n !== "") ? names : undefined;
}
