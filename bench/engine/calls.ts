// The CLI calls of the engine bench's run: counted per cloud and shape from the stand-ins' call logs
// (<cli>-calls.log, one JSON argument list per line), and what the wrappers spent for them (their
// spend log, one JSON object per call).
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
}

/** Per cloud (aws, azure, gcp), the calls its CLI's stand-in answered; `vmsOf(cloud)` gives the cloud's VMs. */
export function countCalls(logs: Partial<Record<keyof typeof CLIS, string>>, vmsOf: (cloud: string) => number): Record<string, CloudCalls> {
    const out: Record<string, CloudCalls> = {};
    for (const [cli, cloud] of Object.entries(CLIS)) {
        const text = logs[cli as keyof typeof CLIS];
        if (text === undefined) continue;
        const byShape: Record<string, number> = {};
        let calls = 0;
        for (const line of text.split("\n")) {
            if (!line.trim()) continue;
            const argv = JSON.parse(line) as unknown;
            if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string"))
                throw new Error(`${cli}-calls.log: a line that is not an argument list`);
            const shape = shapeOf(cli, argv);
            byShape[shape] = (byShape[shape] ?? 0) + 1;
            calls++;
        }
        const vms = vmsOf(cloud);
        out[cloud] = { calls, perVm: vms > 0 ? calls / vms : 0, byShape };
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
