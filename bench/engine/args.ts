// The engine bench's arguments: `npm run bench -- --fleet N [--engine] [--shards K] [--scopes K] [--runner 2x7|4x16]
// [--bad K] [--spend-scale X] [--hold LOW-HIGH] [--seed S] [--keep] [--json]`, checked, each mistake named.

import { MAX_FLEET_SCOPES } from "../../sandbox/world/fleet-stack";

/** The runner sizes the bench can imitate: CPUs (the cgroup's quota) and memory (its limit). */
export const RUNNERS = {
    "2x7": { cpus: 2, memoryMb: 7 * 1024 },
    "4x16": { cpus: 4, memoryMb: 16 * 1024 },
} as const;

/** A runner size's name. */
export type RunnerName = keyof typeof RUNNERS;

/** The usage line. */
export const ENGINE_USAGE =
    "usage: npm run bench -- --fleet N [--engine] [--shards K] [--scopes K] [--runner 2x7|4x16] [--bad K] [--spend-scale X] [--hold LOW-HIGH] [--seed S] [--keep] [--json]";

/** What the engine bench was asked for, checked. */
export interface EngineBenchArgs {
    /** VMs in the fleet (the sandbox's mixed fleet: every cloud, every remedy). */
    n: number;
    /** VMs made never to boot (the sandbox-fault label), never the canary; default 1 % of N rounded, at least 1 when N > 1. */
    bad: number;
    /** The runner the cgroup imitates. */
    runner: RunnerName;
    /** One JSON object instead of the text. */
    json: boolean;
    /** CPU and wall times of each CLI call multiplied by this (1: the real CLIs' cost; less for a quick look, whose CPU is then not checked against the bound). */
    spendScale: number;
    /** Seconds a synchronous call (attach, detach, label, tag) holds its slot: a seeded random time in [low, high]. */
    hold: [number, number];
    /** The seed of those holds. */
    seed: string;
    /** Keep the run's folder (its sandbox, events, logs) instead of removing it. */
    keep: boolean;
    /**
     * `--shards K`: the fleet (every VM of a cloud in one scope) split by `npm run shard` into K
     * stacks on one simulated cloud, their K `up`s run at once (bench/engine/shards); absent: ONE `up`.
     */
    shards?: number;
    /**
     * `--scopes K`: the fleet spread over K scopes per cloud (AWS accounts, Azure subscriptions, GCP
     * projects; VM k of a cloud in scope k mod K, sandbox/world/fleet-stack.ts); absent: the clouds'
     * sample placement (2 scopes per cloud). Not with `--shards` (its fleet is one scope per cloud).
     */
    scopes?: number;
}

/** The most shards the bench runs at once (each is a real engine, program, providers and watch). */
export const MAX_SHARDS = 100;

/** A flag that takes a value, and what it must look like. */
const VALUE_FLAGS = ["--fleet", "--runner", "--bad", "--spend-scale", "--hold", "--seed", "--shards", "--scopes"] as const;
const SWITCHES = ["--engine", "--json", "--keep"] as const;

/** The default number of bad VMs for a fleet of `n`: 1 % rounded, at least 1 when there is a VM besides the canary. */
export function defaultBad(n: number): number {
    return n > 1 ? Math.max(1, Math.round(n / 100)) : 0;
}

/** Parses the engine bench's arguments; throws an Error naming the flag for every mistake. */
export function parseEngineArgs(argv: readonly string[]): EngineBenchArgs {
    const values: Partial<Record<(typeof VALUE_FLAGS)[number], string>> = {};
    const switches = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const [flag, inline] =
            a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
        if ((VALUE_FLAGS as readonly string[]).includes(flag)) {
            const value = inline ?? argv[++i];
            if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new Error(`${flag} needs a value`);
            if (values[flag as (typeof VALUE_FLAGS)[number]] !== undefined) throw new Error(`${flag} is given twice`);
            values[flag as (typeof VALUE_FLAGS)[number]] = value;
        } else if ((SWITCHES as readonly string[]).includes(a)) switches.add(a);
        else if (a === "--cloud" || a === "--throttle" || a === "--max-in-flight" || a === "--time-scale")
            throw new Error(`${a} was the retired model bench's; the engine bench runs the sandbox's mixed fleet as it is`);
        else throw new Error(`unknown argument ${JSON.stringify(a)}`);
    }
    const fleet = values["--fleet"];
    if (fleet === undefined) throw new Error("--fleet N is required");
    if (!/^\d{1,5}$/.test(fleet) || Number(fleet) < 1 || Number(fleet) > 20000)
        throw new Error(`--fleet: ${JSON.stringify(fleet)} must be a number of VMs from 1 to 20000`);
    const n = Number(fleet);
    const runner = values["--runner"] ?? "2x7";
    if (!(runner in RUNNERS)) throw new Error(`--runner: ${JSON.stringify(runner)} must be one of ${Object.keys(RUNNERS).join(", ")}`);
    let bad = defaultBad(n);
    if (values["--bad"] !== undefined) {
        const b = values["--bad"];
        if (!/^\d{1,5}$/.test(b)) throw new Error(`--bad: ${JSON.stringify(b)} must be a whole number of VMs`);
        bad = Number(b);
    }
    let spendScale = 1;
    if (values["--spend-scale"] !== undefined) {
        const s = values["--spend-scale"];
        if (!/^\d+(\.\d+)?$/.test(s) || Number(s) > 1) throw new Error(`--spend-scale: ${JSON.stringify(s)} must be a number from 0 to 1`);
        spendScale = Number(s);
    }
    let hold: [number, number] = [20, 40];
    if (values["--hold"] !== undefined) {
        const m = /^(\d{1,3})-(\d{1,3})$/.exec(values["--hold"]);
        if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 600)
            throw new Error(`--hold: ${JSON.stringify(values["--hold"])} must be LOW-HIGH whole seconds, LOW ≤ HIGH ≤ 600 (e.g. 20-40)`);
        hold = [Number(m[1]), Number(m[2])];
    }
    const seed = values["--seed"] ?? "bootloop-rescue";
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(seed))
        throw new Error(`--seed: ${JSON.stringify(seed)} must be 1 to 64 letters, digits, dots, dashes or underscores`);
    let shards: number | undefined;
    if (values["--shards"] !== undefined) {
        const k = values["--shards"];
        if (!/^\d{1,3}$/.test(k) || Number(k) < 2 || Number(k) > MAX_SHARDS)
            throw new Error(
                `--shards: ${JSON.stringify(k)} must be a whole number of shards from 2 to ${MAX_SHARDS} (the shards share one simulated world, which needs at least two stacks; leave --shards out for ONE up)`,
            );
        shards = Number(k);
        if (shards > n) throw new Error(`--shards ${shards}: more shards than the fleet's ${n} VMs`);
    }
    let scopes: number | undefined;
    if (values["--scopes"] !== undefined) {
        const k = values["--scopes"];
        if (!/^\d{1,3}$/.test(k) || Number(k) < 1 || Number(k) > MAX_FLEET_SCOPES)
            throw new Error(
                `--scopes: ${JSON.stringify(k)} must be a whole number of scopes per cloud from 1 to ${MAX_FLEET_SCOPES} (AWS accounts, Azure subscriptions, GCP projects)`,
            );
        if (shards !== undefined)
            throw new Error(
                "--scopes cannot go with --shards: the shards bench places every VM of a cloud in one scope; leave --scopes out, or --shards for ONE up",
            );
        scopes = Number(k);
    }
    return {
        n,
        bad,
        runner: runner as RunnerName,
        json: switches.has("--json"),
        spendScale,
        hold,
        seed,
        keep: switches.has("--keep"),
        ...(shards === undefined ? {} : { shards }),
        ...(scopes === undefined ? {} : { scopes }),
    };
}
