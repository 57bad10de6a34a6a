// @ts-check
// What one cloud CLI call costs in the engine bench, and the spending of it: run by the wrappers in
// bench/engine/bin (aws, az, gcloud) before they hand the call to the sandbox's stand-in, so each call
// costs the runner what the real CLI costs on that call shape (bench/fleet/cli-cost.json): its CPU
// (a busy loop), its memory (allocated and touched, held for the call) and at least its wall time;
// a call that waits for the cloud's operation (a synchronous attach, detach, label or tag) holds its
// slot for a seeded random time in a range. Plain JavaScript, no TypeScript to compile: it runs once
// per CLI call, and what it costs counts toward the call's price, not on top of it.
"use strict";
const fs = require("fs");

/** The cloud each CLI calls. */
const CLOUD_OF = { aws: "aws", az: "azure", gcloud: "gcp" };

/** How many words after the CLI name a call shape has (as bench/fleet/cli-cost.json keys them). */
const SHAPE_WORDS = { aws: 2, az: 2, gcloud: 3 };

/**
 * The calls that wait for the cloud's operation to finish before they return, by CLI: matched on the
 * call's leading words, never with --no-wait or --async. AWS has none: EC2's attach-volume,
 * detach-volume and create-tags return at once (the scripts then poll).
 */
const SYNCHRONOUS = {
    aws: [],
    az: [/^vm disk (attach|detach)\b/, /^vm update\b/, /^disk update\b/, /^(resource )?tag\b/],
    gcloud: [/^compute instances (attach-disk|detach-disk)\b/, /^compute (instances|disks|snapshots|images) (add|remove|update)-labels\b/],
};

/**
 * The leading words of a call (`ec2 describe-instances` of `--region us-east-1 --output json ec2
 * describe-instances --filters …`): options before the first word are taken with their value (the
 * AWS CLI's global options), then the words up to the first option.
 * @param {readonly string[]} argv
 * @returns {string[]}
 */
function leadingWords(argv) {
    let i = 0;
    while (i < argv.length && argv[i].startsWith("-")) i += argv[i].includes("=") ? 1 : 2;
    const words = [];
    for (; i < argv.length && !argv[i].startsWith("-"); i++) words.push(argv[i]);
    return words;
}

/**
 * The call shape of a CLI call, as cli-cost.json keys it: the CLI and its first words
 * (`aws ec2 describe-instances`, `az vm show`, `gcloud compute instances list`).
 * @param {string} cli
 * @param {readonly string[]} argv
 * @returns {string}
 */
function shapeOf(cli, argv) {
    const n = SHAPE_WORDS[/** @type {keyof typeof SHAPE_WORDS} */ (cli)];
    if (n === undefined) throw new Error(`not a cloud CLI the bench prices: ${JSON.stringify(cli)}`);
    return [cli, ...leadingWords(argv).slice(0, n)].join(" ");
}

/**
 * Whether the call waits for the cloud's operation before it returns (and so holds its slot).
 * @param {string} cli
 * @param {readonly string[]} argv
 * @returns {boolean}
 */
function isSynchronous(cli, argv) {
    if (argv.includes("--no-wait") || argv.includes("--async")) return false;
    const words = leadingWords(argv).join(" ");
    return (SYNCHRONOUS[/** @type {keyof typeof SYNCHRONOUS} */ (cli)] ?? []).some((re) => re.test(words));
}

/** @param {number[]} xs */
function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The price table the wrappers read, from cli-cost.json as parsed: per CLI, each measured shape's
 * CPU seconds, peak RSS MB and wall seconds, and the cloud's median of each (for a shape not measured).
 * @param {{ calls: Array<{ cloud: string, shape: string, ok: boolean, cpuSeconds?: number, peakRssMb?: number, wallSeconds?: number }> }} file
 * @returns {import("./spend").PriceTable}
 */
function priceTable(file) {
    /** @type {import("./spend").PriceTable} */
    const table = {};
    for (const [cli, cloud] of Object.entries(CLOUD_OF)) {
        const measured = file.calls.filter((c) => c.cloud === cloud && c.ok && c.shape.startsWith(`${cli} `));
        if (measured.length === 0) throw new Error(`cli-cost.json has no measured call for ${cloud} (${cli})`);
        /** @type {Record<string, import("./spend").Price>} */
        const shapes = {};
        for (const c of measured)
            shapes[c.shape] = { cpuSeconds: Number(c.cpuSeconds), peakRssMb: Number(c.peakRssMb), wallSeconds: Number(c.wallSeconds) };
        const all = Object.values(shapes);
        table[cli] = {
            shapes,
            median: {
                cpuSeconds: median(all.map((p) => p.cpuSeconds)),
                peakRssMb: median(all.map((p) => p.peakRssMb)),
                wallSeconds: median(all.map((p) => p.wallSeconds)),
            },
        };
    }
    return table;
}

/**
 * A number in [0, 1) from a seed and a call: FNV-1a over both, so a run is repeatable.
 * @param {string} seed
 * @param {string} cli
 * @param {readonly string[]} argv
 */
function seededFraction(seed, cli, argv) {
    let h = 0x811c9dc5;
    for (const ch of `${seed}\u001f${cli}\u001f${argv.join("\u001f")}`) {
        h ^= ch.charCodeAt(0);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h / 0x100000000;
}

/**
 * How long a call waits for the cloud's operation: for a synchronous call, `hold` seconds (seeded
 * random in that range, scaled); 0 for any other. The API front's GCP operations take as long
 * (sandbox/api/gcp.js), for the calls the watcher makes as requests in the step's place.
 * @param {Pick<import("./spend").SpendSettings, "hold" | "seed" | "scale">} settings
 * @param {string} cli
 * @param {readonly string[]} argv
 * @returns {number}
 */
function holdSeconds(settings, cli, argv) {
    if (!isSynchronous(cli, argv)) return 0;
    const [lo, hi] = settings.hold;
    return (lo + (hi - lo) * seededFraction(settings.seed, cli, argv)) * settings.scale;
}

/**
 * What one call spends: its shape's measured price (a shape cli-cost.json does not have: the cloud's
 * median, said in `priced`), CPU and wall times `scale`d, and for a synchronous call a hold of
 * `hold` seconds (seeded random in that range, scaled) in place of a shorter wall time.
 * @param {import("./spend").SpendSettings} settings
 * @param {string} cli
 * @param {readonly string[]} argv
 * @returns {import("./spend").CallCost}
 */
function costOf(settings, cli, argv) {
    const prices = settings.table[cli];
    if (!prices) throw new Error(`not a cloud CLI the bench prices: ${JSON.stringify(cli)}`);
    const shape = shapeOf(cli, argv);
    const own = prices.shapes[shape];
    const price = own ?? prices.median;
    return {
        cli,
        shape,
        priced: own ? "measured" : "median",
        synchronous: isSynchronous(cli, argv),
        cpuSeconds: price.cpuSeconds * settings.scale,
        peakRssMb: price.peakRssMb,
        wallSeconds: Math.max(price.wallSeconds * settings.scale, holdSeconds(settings, cli, argv)),
    };
}

/**
 * Spends a call's cost in this process: memory allocated and every page touched (held to the end),
 * CPU in a busy loop until the process has used cpuSeconds (its own start counts), then sleeps until
 * wallSeconds have passed since it started. Returns what it spent.
 * @param {import("./spend").CallCost} cost
 * @returns {Promise<import("./spend").Spent>}
 */
async function spend(cost) {
    const MB = 1024 * 1024;
    const cpu = () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
    };
    // The busy loop: arithmetic between reads of the process's CPU time (itself a system call).
    let x = 1;
    const busyUntil = (/** @type {number} */ seconds) => {
        while (cpu() < seconds) for (let i = 0; i < 20000; i++) x = (x * 48271) % 2147483647;
    };
    // A first 30 ms of the loop lets the process reach its own working size (its code compiled),
    // then memory in 1 MB pieces, each touched, until its resident size is the call's peak: held to the end.
    busyUntil(Math.min(cost.cpuSeconds, cpu() + 0.03));
    /** @type {Buffer[]} */
    const held = [];
    while (process.memoryUsage.rss() < cost.peakRssMb * MB) held.push(Buffer.allocUnsafe(MB).fill(x & 0xff));
    busyUntil(cost.cpuSeconds);
    const wait = cost.wallSeconds * 1000 - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return {
        cpuSeconds: cpu(),
        peakRssMb: process.resourceUsage().maxRSS / 1024,
        heldMb: held.length,
        wallSeconds: performance.now() / 1000,
    };
}

/** The settings the wrappers read: BENCH_ENGINE_COSTS names them (written by bench/engine/run.ts). */
function readSettings() {
    const file = process.env.BENCH_ENGINE_COSTS;
    if (!file)
        throw new Error("BENCH_ENGINE_COSTS is not set: the engine bench's wrappers run inside `npm run bench -- --fleet N --engine` only");
    return /** @type {import("./spend").SpendSettings} */ (JSON.parse(fs.readFileSync(file, "utf8")));
}

/** `node spend.js CLI ARGS...`: spends the call's cost and appends what it spent to BENCH_ENGINE_SPEND_LOG. */
async function main() {
    const [cli, ...argv] = process.argv.slice(2);
    const cost = costOf(readSettings(), cli, argv);
    const spent = await spend(cost);
    const log = process.env.BENCH_ENGINE_SPEND_LOG;
    if (log) fs.appendFileSync(log, `${JSON.stringify({ ...cost, spent })}\n`);
}

module.exports = { leadingWords, shapeOf, isSynchronous, priceTable, costOf, holdSeconds, spend, seededFraction, readSettings };

if (require.main === module)
    main().catch((/** @type {unknown} */ err) => {
        process.stderr.write(`engine bench: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    });
