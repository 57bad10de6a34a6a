import * as path from "path";
import { Problem, InputError, show } from "./inventory/problems";
import { WaveSettings } from "./plan/waves";

/** The project's config namespace: keys are `bootloop-rescue:<key>`. */
export const NAMESPACE = "bootloop-rescue";

/** Reads stack config; implemented over `pulumi.Config` in the program and over plain maps in tests. */
export interface ConfigSource {
    /** The raw value of a fully qualified key (`bootloop-rescue:canary`), or undefined. */
    get(key: string): string | undefined;
    /** Whether a fully qualified key exists and whether it is a secret. */
    kind(key: string): "secret" | "plain" | "missing";
}

/** The stack's settings, validated. */
export interface Settings extends WaveSettings {
    /** Inventory file, relative to the project folder. */
    inventory: string;
    /** Per-cloud override of the disks one rescue VM holds (`*` applies to every cloud). */
    disksPerRescue: Readonly<Record<string, number>>;
    /** Remove rescue VMs, attachments and scratch disks; keep backups, fixed disks and records. */
    teardown: boolean;
    /** Minutes a VM may take to show a real boot signal after the swap. */
    bootTimeoutMinutes: number;
    /** Minutes one repair (agent ready, engine run) may take on its rescue VM. */
    repairTimeoutMinutes: number;
}

/** Every config key the project reads, with its meaning (README and error messages use it). */
export const CONFIG_KEYS: Record<string, string> = {
    inventory: "inventory file of this stack, relative to the project folder (YAML or CSV, under stacks/); required",
    canary: "VMs in the canary wave 0: a count (default 1) or a percentage such as 5%",
    waveSize: "VMs per wave after the canary (default: all of them in wave 1)",
    disksPerRescue: "disks one rescue VM repairs at once: a number for every cloud, or a map such as {aws: 20, gcp: 16}",
    teardown: "true removes rescue VMs, attachments and scratch disks; backups, fixed disks and records stay (default false)",
    bootTimeoutMinutes: "minutes a VM may take to pass its boot checks after the swap before its chain fails (default 20)",
    repairTimeoutMinutes: "minutes a repair may take on the rescue VM, including waiting for its agent (default 30)",
};

/**
 * Reads and validates the settings. Throws one {@link InputError} naming `stackFile` and the key
 * for every bad value, so a bad config stops the run before anything is declared.
 */
export function readSettings(config: ConfigSource, stackFile: string, clouds: ReadonlyMap<string, { max: number }>): Settings {
    const problems: Problem[] = [];
    const bad = (key: string, message: string) => problems.push({ file: stackFile, field: `${NAMESPACE}:${key}`, message });
    const get = (key: string) => config.get(`${NAMESPACE}:${key}`);

    const inventory = get("inventory");
    if (inventory === undefined || inventory.trim() === "") {
        bad("inventory", "missing; set it to this stack's inventory file, e.g. `pulumi config set inventory stacks/prod.yaml`");
    } else if (path.isAbsolute(inventory) || inventory.split(/[\\/]/).includes("..")) {
        bad("inventory", `${show(inventory)} must be a path inside the project folder (relative, no '..'), so every machine plans the same stack`);
    }

    let canary: WaveSettings["canary"] = { count: 1 };
    const canaryText = get("canary");
    if (canaryText !== undefined) {
        const pct = /^(\d{1,3}(\.\d+)?)%$/.exec(canaryText.trim());
        if (pct && Number(pct[1]) <= 100) canary = { percent: Number(pct[1]) };
        else if (/^\d{1,6}$/.test(canaryText.trim())) canary = { count: Number(canaryText) };
        else bad("canary", `${show(canaryText)} is not a VM count or a percentage (e.g. 1, or 5%)`);
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
            else if (!Number.isInteger(n) || n < 1 || (max !== undefined && n > max)) bad("disksPerRescue", `${show(value)} for ${cloud} must be a whole number from 1 to ${max}`);
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

    if (problems.length > 0) throw new InputError(problems);
    return { inventory: inventory!, canary, waveSize, disksPerRescue, teardown, bootTimeoutMinutes, repairTimeoutMinutes };
}
