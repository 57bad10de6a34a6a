// The CLI calls of the engine bench's run: counted per cloud and shape from the stand-ins' call logs
// (<cli>-calls.log, one JSON argument list per line), less the watcher's API requests that the
// stand-in API front answered through the same stand-ins (its api-calls.log, {cli, argv} a line),
// which are counted apart; and what the wrappers spent for the CLI calls (their spend log, one JSON
// object per call).
import * as fs from "fs";
import { shapeOf } from "./spend";

/** The CLIs, with their clouds. */
export const CLIS = { aws: "aws", az: "azure", gcloud: "gcp" } as const;

/** One cloud's calls. */
export interface CloudCalls {
    /** Calls in all. */
    calls: number;
    /** Calls per VM of that cloud. */
    perVm: number;
    /** Calls by shape (`aws ec2 describe-instances`). */
    byShape: Record<string, number>;
    /** The watcher's requests of the cloud's API (made in its process, no CLI process), by the shape of the CLI call that answered them. */
    api: { requests: number; perVm: number; byShape: Record<string, number> };
}

/** One log's lines, each parsed and checked by `check` (which names the file in its error). */
function jsonLines<T>(text: string, check: (v: unknown) => T): T[] {
    return text
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => check(JSON.parse(line) as unknown));
}

const isArgv = (v: unknown): v is string[] => Array.isArray(v) && v.every((a) => typeof a === "string");

/**
 * Per cloud (aws, azure, gcp), the CLI calls its stand-in answered; `vmsOf(cloud)` gives the cloud's
 * VMs. `apiLog` (the front's api-calls.log) names the stand-in calls that answered the watcher's API
 * requests: they are taken out of the CLI calls and counted as API requests.
 */
export function countCalls(
    logs: Partial<Record<keyof typeof CLIS, string>>,
    vmsOf: (cloud: string) => number,
    apiLog = "",
): Record<string, CloudCalls> {
    const api = jsonLines(apiLog, (v) => {
        const line = v as { cli?: unknown; argv?: unknown };
        if (typeof line.cli !== "string" || !(line.cli in CLIS) || !isArgv(line.argv))
            throw new Error("api-calls.log: a line that is not {cli, argv}");
        return { cli: line.cli as keyof typeof CLIS, argv: line.argv };
    });
    const out: Record<string, CloudCalls> = {};
    for (const [cli, cloud] of Object.entries(CLIS)) {
        const text = logs[cli as keyof typeof CLIS];
        if (text === undefined) continue;
        const byShape: Record<string, number> = {};
        for (const argv of jsonLines(text, (v) => {
            if (!isArgv(v)) throw new Error(`${cli}-calls.log: a line that is not an argument list`);
            return v;
        })) {
            const shape = shapeOf(cli, argv);
            byShape[shape] = (byShape[shape] ?? 0) + 1;
        }
        const apiByShape: Record<string, number> = {};
        for (const a of api.filter((a) => a.cli === cli)) {
            const shape = shapeOf(cli, a.argv);
            if (!byShape[shape]) throw new Error(`api-calls.log: ${shape} is not in ${cli}-calls.log as often`);
            byShape[shape]--;
            if (byShape[shape] === 0) delete byShape[shape];
            apiByShape[shape] = (apiByShape[shape] ?? 0) + 1;
        }
        const calls = Object.values(byShape).reduce((a, b) => a + b, 0);
        const requests = Object.values(apiByShape).reduce((a, b) => a + b, 0);
        const vms = vmsOf(cloud);
        out[cloud] = {
            calls,
            perVm: vms > 0 ? calls / vms : 0,
            byShape,
            api: { requests, perVm: vms > 0 ? requests / vms : 0, byShape: apiByShape },
        };
    }
    return out;
}

/** What the wrappers spent, over the run. */
export interface SpendSummary {
    /** Calls the wrappers priced and spent. */
    calls: number;
    /** Of those, the calls whose shape cli-cost.json does not have, priced at their cloud's median, by shape. */
    pricedByMedian: Record<string, number>;
    /** Synchronous calls (attach, detach, label, tag) that held their slot, and their seconds in all. */
    held: { calls: number; seconds: number };
    /** CPU seconds the wrappers' spending processes used (the real CLIs' share of the runner's CPU). */
    cpuSeconds: number;
    /** CPU seconds they were to spend. */
    cpuTarget: number;
    /** The largest resident size one of them reached, MB. */
    peakRssMb: number;
}

interface SpendLine {
    shape: string;
    priced: string;
    synchronous: boolean;
    cpuSeconds: number;
    wallSeconds: number;
    spent: { cpuSeconds: number; peakRssMb: number };
}

/** Sums the spend log (one JSON object per call). */
export function summarizeSpend(text: string): SpendSummary {
    const s: SpendSummary = { calls: 0, pricedByMedian: {}, held: { calls: 0, seconds: 0 }, cpuSeconds: 0, cpuTarget: 0, peakRssMb: 0 };
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const c = JSON.parse(line) as SpendLine;
        s.calls++;
        if (c.priced === "median") s.pricedByMedian[c.shape] = (s.pricedByMedian[c.shape] ?? 0) + 1;
        if (c.synchronous) {
            s.held.calls++;
            s.held.seconds += c.wallSeconds;
        }
        s.cpuTarget += c.cpuSeconds;
        s.cpuSeconds += c.spent.cpuSeconds;
        s.peakRssMb = Math.max(s.peakRssMb, c.spent.peakRssMb);
    }
    return s;
}

/** A file's text, or undefined when it does not exist. */
export function readIfThere(file: string): string | undefined {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}
