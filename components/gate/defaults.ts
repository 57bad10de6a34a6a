/** The watcher's defaults, apart from its entry point so that others (the fleet benchmark) can read them. */
import * as fs from "fs";
import * as path from "path";
import { RATE_SHARE_VAR, parseRateShare } from "../core/rate-share";

/**
 * Seconds between two looks at one group of waits (a scope and kind). Each look answers every
 * waiting step of the group, so this sets the calls per VM more than the fleet's size does: 15 s
 * costs a step 7.5 s of latency on average per wait, a few percent of a chain.
 */
export const DEFAULT_POLL_SECONDS = 15;

/** CLI processes the watcher lets run at once by default: 4 per core, at most 64. */
export function defaultCliProcesses(cores: number): number {
    return Math.max(4, Math.min(64, 4 * cores));
}

/**
 * The committed measurement of the real CLIs' cost per call shape (scripts/measure-cli-cost.sh,
 * `npm run measure:cli-cost`), read by the fleet benchmark and discovery.
 */
export const CLI_COST_JSON = path.join(__dirname, "..", "..", "bench", "fleet", "cli-cost.json");

/**
 * FALLBACK prices only (CPU seconds of one call on a 2-core runner, taken 2026-11-22 on azure-cli
 * 2.45): what cliCpuSecondsPerCall answers for a cloud that cli-cost.json has no figure for, and
 * says so.
 */
export const FALLBACK_CLI_CPU_SECONDS: Readonly<Record<string, number>> = { aws: 0.43, azure: 0.87, gcp: 0.5 };

/** Per cloud, CPU seconds of one real CLI call, and where the figures come from. */
export interface CliPrices {
    /** CPU seconds per call, per cloud (aws, azure, gcp). */
    seconds: Record<string, number>;
    /** "cli-cost.json measured <date> at <commit>", or that the fallback prices are in use and why. */
    source: string;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Per cloud, the median CPU seconds of one call over the call shapes cli-cost.json measured; for a
 * cloud it has no figure for (or if it is missing or unreadable), the FALLBACK prices, said so in
 * `source`. The fleet benchmark reads the file strictly instead (bench/fleet/cli-cost.ts).
 */
export function cliCpuSecondsPerCall(file = CLI_COST_JSON): CliPrices {
    let data: { measuredAt?: unknown; commit?: unknown; calls?: unknown };
    try {
        data = JSON.parse(fs.readFileSync(file, "utf8")) as typeof data;
    } catch (e) {
        return {
            seconds: { ...FALLBACK_CLI_CPU_SECONDS },
            source: `FALLBACK fixed prices of 2026-11-22 (${path.basename(file)}: ${(e as Error).message.split("\n")[0]})`,
        };
    }
    const byCloud: Record<string, number[]> = {};
    for (const c of Array.isArray(data.calls) ? (data.calls as { cloud?: unknown; ok?: unknown; cpuSeconds?: unknown }[]) : [])
        if (c && c.ok === true && typeof c.cloud === "string" && typeof c.cpuSeconds === "number" && c.cpuSeconds > 0)
            (byCloud[c.cloud] ??= []).push(c.cpuSeconds);
    const seconds: Record<string, number> = {};
    const fallback: string[] = [];
    for (const [cloud, price] of Object.entries(FALLBACK_CLI_CPU_SECONDS)) {
        seconds[cloud] = byCloud[cloud] ? median(byCloud[cloud]) : price;
        if (!byCloud[cloud]) fallback.push(cloud);
    }
    const when = `${path.basename(file)} measured ${String(data.measuredAt).slice(0, 10)} at ${String(data.commit).slice(0, 7)}`;
    return { seconds, source: fallback.length ? `${when}; FALLBACK fixed prices for ${fallback.join(", ")} (not measured there)` : when };
}

/**
 * The share of each scope's budget this watcher may spend: BOOTLOOP_RATE_SHARE, 1 when unset. A
 * value that is not a share stops the watcher (a typo must not spend the whole budget).
 */
export function rateShareFrom(env: NodeJS.ProcessEnv): number {
    const text = env[RATE_SHARE_VAR];
    if (text === undefined || text === "") return 1;
    const share = parseRateShare(text);
    if (share === undefined)
        throw new Error(`${RATE_SHARE_VAR}=${JSON.stringify(text)} is not a share from 0 (excluded) to 1, e.g. 0.25 or 1/4`);
    return share;
}

/**
 * The buckets' refill scale: BOOTLOOP_RATE_SCALE, else the time scale (so runs that set only that
 * see no change). A value that is not a positive number stops the watcher.
 */
export function rateScaleFrom(env: NodeJS.ProcessEnv, timeScale: number): number {
    const text = env.BOOTLOOP_RATE_SCALE;
    if (text === undefined || text === "") return timeScale;
    const v = Number(text);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`BOOTLOOP_RATE_SCALE=${JSON.stringify(text)} is not a positive number`);
    return v;
}
