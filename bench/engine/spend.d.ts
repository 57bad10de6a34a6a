// Types of spend.js (plain JavaScript: the engine bench's wrappers run it once per CLI call).

/** What one call shape costs the real CLI (bench/fleet/cli-cost.json). */
export interface Price {
    /** User + system CPU seconds. */
    cpuSeconds: number;
    /** Peak resident memory, MB. */
    peakRssMb: number;
    /** Wall seconds. */
    wallSeconds: number;
}

/** Per CLI (aws, az, gcloud): each measured shape's price, and the cloud's median for the rest. */
export type PriceTable = Record<string, { shapes: Record<string, Price>; median: Price }>;

/** What the wrappers are given (the file BENCH_ENGINE_COSTS names). */
export interface SpendSettings {
    /** The prices. */
    table: PriceTable;
    /** CPU and wall times (and holds) are multiplied by this: 1 spends what the real CLI does. */
    scale: number;
    /** Seconds a synchronous call holds its slot: [low, high], a seeded random time in between. */
    hold: [number, number];
    /** The seed of the holds. */
    seed: string;
}

/** What one call is to spend. */
export interface CallCost {
    /** The CLI (aws, az, gcloud). */
    cli: string;
    /** Its call shape (`aws ec2 describe-instances`). */
    shape: string;
    /** Whether cli-cost.json measured this shape, or its cloud's median priced it. */
    priced: "measured" | "median";
    /** Whether the call waits for the cloud's operation (then it holds its slot). */
    synchronous: boolean;
    /** CPU seconds to spend. */
    cpuSeconds: number;
    /** Memory to hold, MB (the process's whole resident size). */
    peakRssMb: number;
    /** Wall seconds the call takes at least. */
    wallSeconds: number;
}

/** What a call spent, as its process measured it. */
export interface Spent {
    /** CPU seconds of the spending process (its start included). */
    cpuSeconds: number;
    /** Its peak resident memory, MB. */
    peakRssMb: number;
    /** MB it allocated and touched on top of its own. */
    heldMb: number;
    /** Wall seconds since it started. */
    wallSeconds: number;
}

/** The leading words of a call: options before the first word taken with their value, then the words up to the first option. */
export function leadingWords(argv: readonly string[]): string[];
/** The call shape, as cli-cost.json keys it: the CLI and its first words (aws, az: 2; gcloud: 3). */
export function shapeOf(cli: string, argv: readonly string[]): string;
/** Whether the call waits for the cloud's operation before it returns. */
export function isSynchronous(cli: string, argv: readonly string[]): boolean;
/** The price table from cli-cost.json as parsed; throws when a cloud has no measured call. */
export function priceTable(file: {
    calls: Array<{ cloud: string; shape: string; ok: boolean; cpuSeconds?: number; peakRssMb?: number; wallSeconds?: number }>;
}): PriceTable;
/** What one call spends under `settings`. */
export function costOf(settings: SpendSettings, cli: string, argv: readonly string[]): CallCost;
/** Seconds a synchronous call waits for the cloud's operation (seeded in `hold`, scaled); 0 for any other call. */
export function holdSeconds(settings: Pick<SpendSettings, "hold" | "seed" | "scale">, cli: string, argv: readonly string[]): number;
/** The settings BENCH_ENGINE_COSTS names; throws when it is not set. */
export function readSettings(): SpendSettings;
/** Spends a call's cost in this process. */
export function spend(cost: CallCost): Promise<Spent>;
/** A number in [0, 1) from a seed and a call. */
export function seededFraction(seed: string, cli: string, argv: readonly string[]): number;
