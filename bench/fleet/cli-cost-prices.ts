// What one real CLI call costs, as scripts/measure-cli-cost.sh measured it (bench/fleet/cli-cost.json):
// read and checked here, and turned into a price per call for the fleet bench and discovery's bench.
import * as fs from "fs";
import * as path from "path";

/** A cloud the prices are for. */
export type Cloud = "aws" | "azure" | "gcp";

const CLOUDS: readonly Cloud[] = ["aws", "azure", "gcp"];

/** The committed measurement. */
export const CLI_COST_FILE = path.join(__dirname, "cli-cost.json");

/** One call shape's measurement (medians over the repetitions), or why it could not be made. */
export type MeasuredCall = {
    /** The cloud it prices. */
    cloud: Cloud;
    /** The CLI and its first words, as the fleet bench counts calls ("aws ec2 describe-instances"). */
    shape: string;
    /** The arguments the CLI ran with. */
    argv: string[];
} & (
    | {
          ok: true;
          /** User + system CPU seconds of the CLI's process tree. */
          cpuSeconds: number;
          /** Peak resident memory of its largest process, MB. */
          peakRssMb: number;
          /** Wall seconds, with the answer on the loopback. */
          wallSeconds: number;
      }
    | {
          ok: false;
          /** Why it did not run. */
          error: string;
      }
);

/** The file measure-cli-cost.sh writes. */
export interface CliCostFile {
    /** When it was measured (ISO 8601). */
    measuredAt: string;
    /** The git commit it was measured at. */
    commit: string;
    /** The machine: its cores, memory and name, and its 1-minute load average before and after (others' work on a shared runner). */
    machine: { cores: number; memoryMb: number; name: string; loadAverage1m?: { before: number; after: number } };
    /** Counted calls per shape (after one uncounted). */
    repetitions: number;
    /** How the figures were taken. */
    method: string;
    /** Each CLI's version line. */
    versions: Record<string, string>;
    /** Every shape, measured or failed. */
    calls: MeasuredCall[];
}

function fail(file: string, why: string): never {
    throw new Error(`${file}: ${why}; run \`npm run measure:cli-cost\` (as root) to measure the real CLIs again`);
}

const positive = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;

/** The measured prices, checked. */
export class CliCost {
    private constructor(
        /** The file as read. */
        readonly file: CliCostFile,
        private readonly from: string,
    ) {}

    /** Reads and checks the committed measurement (or `file`); throws a clear error if it is missing or malformed. */
    static load(file = CLI_COST_FILE): CliCost {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            fail(
                file,
                `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the bench prices CLI calls only with measured figures`,
            );
        }
        let data: unknown;
        try {
            data = JSON.parse(text);
        } catch (e) {
            fail(file, `is not JSON (${(e as Error).message})`);
        }
        return CliCost.parse(data, file);
    }

    /** Checks a parsed measurement; `from` names it in errors. */
    static parse(data: unknown, from: string): CliCost {
        const d = data as Partial<CliCostFile> | null;
        if (!d || typeof d !== "object") fail(from, "is not an object");
        if (typeof d.measuredAt !== "string" || Number.isNaN(Date.parse(d.measuredAt))) fail(from, "has no valid measuredAt");
        if (typeof d.commit !== "string" || !d.commit) fail(from, "has no commit");
        if (!d.machine || !positive(d.machine.cores) || !positive(d.machine.memoryMb)) fail(from, "has no machine (cores, memoryMb)");
        if (!d.versions || typeof d.versions !== "object") fail(from, "has no CLI versions");
        if (!Array.isArray(d.calls)) fail(from, "has no calls");
        for (const [i, c] of d.calls.entries()) {
            const where = `calls[${i}]`;
            if (!c || !CLOUDS.includes(c.cloud) || typeof c.shape !== "string" || !c.shape)
                fail(from, `${where} has no cloud (aws, azure, gcp) or shape`);
            if (c.ok === true) {
                if (!positive(c.cpuSeconds) || !positive(c.peakRssMb) || !positive(c.wallSeconds))
                    fail(from, `${where} (${c.shape}) needs positive cpuSeconds, peakRssMb and wallSeconds`);
            } else if (c.ok !== false || typeof c.error !== "string")
                fail(from, `${where} (${c.shape}) is neither measured (ok: true) nor failed with an error`);
        }
        return new CliCost(d as CliCostFile, from);
    }

    /** The shapes measured for `cloud`. */
    measured(cloud: Cloud): { shape: string; cpuSeconds: number }[] {
        return this.file.calls.flatMap((c) => (c.cloud === cloud && c.ok ? [{ shape: c.shape, cpuSeconds: c.cpuSeconds }] : []));
    }

    /** The median CPU seconds of one call over `cloud`'s measured shapes; throws if none ran. */
    medianCpuSeconds(cloud: Cloud): number {
        const xs = this.measured(cloud)
            .map((c) => c.cpuSeconds)
            .sort((a, b) => a - b);
        if (xs.length === 0) fail(this.from, `has no measured call for ${cloud}`);
        const m = xs.length >> 1;
        return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
    }

    /**
     * CPU seconds of the calls counted by shape (`{"aws ec2 describe-instances": 12, …}`, as the
     * fleet bench's fake cloud counts them) on `cloud`: each at its shape's measured price, a shape
     * not measured at the cloud's median.
     */
    cpuSecondsOf(cloud: Cloud, byShape: Readonly<Record<string, number>>, prefix: string): number {
        const price = new Map(this.measured(cloud).map((c) => [c.shape, c.cpuSeconds]));
        const median = this.medianCpuSeconds(cloud);
        let total = 0;
        for (const [shape, n] of Object.entries(byShape)) if (shape.startsWith(`${prefix} `)) total += n * (price.get(shape) ?? median);
        return total;
    }

    /** "cli-cost.json measured 2026-12-07 at abc1234 (2 cores)": where the prices come from. */
    source(): string {
        return `${path.basename(this.from)} measured ${this.file.measuredAt.slice(0, 10)} at ${this.file.commit.slice(0, 7)} (${this.file.machine.cores} cores)`;
    }

    /** The readable table: one line per shape. */
    table(): string {
        const lines = [
            `real CLI cost per call (${this.source()}; median of ${this.file.repetitions})`,
            ...Object.entries(this.file.versions).map(([k, v]) => `  ${k}: ${v}`),
            `  ${"cloud".padEnd(6)} ${"call".padEnd(48)} ${"CPU s".padStart(7)} ${"RSS MB".padStart(7)} ${"wall s".padStart(7)}`,
        ];
        for (const c of this.file.calls)
            lines.push(
                c.ok
                    ? `  ${c.cloud.padEnd(6)} ${c.shape.padEnd(48)} ${c.cpuSeconds.toFixed(2).padStart(7)} ${c.peakRssMb.toFixed(0).padStart(7)} ${c.wallSeconds.toFixed(2).padStart(7)}`
                    : `  ${c.cloud.padEnd(6)} ${c.shape.padEnd(48)} FAILED: ${c.error}`,
            );
        for (const cloud of CLOUDS)
            if (this.measured(cloud).length) lines.push(`  ${cloud} median: ${this.medianCpuSeconds(cloud).toFixed(2)} s CPU per call`);
        return lines.join("\n");
    }
}
