// `npm run discover`: finds the boot-looping Windows VMs of the scoped clouds from outside the
// guest, with read-only calls, and writes the inventory for review (discover → review the file →
// npm run plan → pulumi up). The inventory goes to --out or stdout; progress and the report to stderr.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BuiltCloud } from "../../core/contract/cloud-path";
import { CloudIdentity } from "../../core/contract/identity";
import { inventoryContext } from "../../core/inventory/context";
import { parseYamlInventory } from "../../core/inventory/read";
import { validateInventory } from "../../core/inventory/validate";
import { cliCpuSecondsPerCall, defaultCliProcesses } from "../../gate/defaults";
import { ArgumentError, CommandContext, STACK_NAME } from "../command-contract";
import { inertJson, terminalText } from "../display-text";
import { configSourceOf, readStackConfig } from "../offline/stack-config";
import { DiscoveryGate } from "./cli";
import { Discovery, discover } from "./discover";
import { BadWindow, CHANNEL_FILE_291, FalconExport, parseFalconExport } from "./falcon";
import { DiscoveredInventory, inventoryText } from "./inventory-text";
import { CloudDiscovery, OptionError } from "./types";

/** The guests discovery finds: Windows by default; `--guests windows,linux` adds Linux VMs, `--guests linux` only them. */
const GUESTS = ["windows", "linux"] as const;

/**
 * Each cloud's scope options (`--regions`, `--subscriptions`, …) and `--guests`: the value flags
 * discovery takes besides its own.
 */
export function scopeFlags(discoveries: readonly CloudDiscovery[]): string[] {
    return [...discoveries.flatMap((d) => d.options.map((o) => o.flag)), "--guests"];
}

/** One usage line per scope option: its flag, its cloud and what it takes; then `--guests`. */
export function scopeOptionsHelp(discoveries: readonly CloudDiscovery[]): string[] {
    return [
        ...discoveries.flatMap((d) => d.options.map((o) => `  ${o.flag.padEnd(20)} ${d.cloud}: ${o.help} (comma-separated)`)),
        `  ${"--guests".padEnd(20)} windows (default), linux, or windows,linux: Linux VMs are found by their console (kernel panic, emergency mode, dracut shell)`,
    ];
}

/** What `npm run discover` was asked for: the values by flag (`--cloud`, `--out`, the scope options, …), and the switches. */
export interface DiscoverCommandArgs {
    values: Readonly<Record<string, string>>;
    force: boolean;
    json: boolean;
}

/** The arguments checked. */
export interface DiscoverArgs {
    clouds: CloudDiscovery[];
    options: Map<CloudDiscovery, Record<string, string[]>>;
    /** The guests to find (`--guests`). */
    guests: ("windows" | "linux")[];
    stack?: string;
    falconCsv?: string;
    window: BadWindow;
    out?: string;
    force: boolean;
    json: boolean;
}

/** The clouds discovery scans, validates its inventory with, and calls through (the composition roots'). */
export interface DiscoverClouds {
    discoveries: readonly CloudDiscovery[];
    identities: readonly CloudIdentity[];
    builtClouds: readonly BuiltCloud[];
    /** Each cloud's CLI, as the gate runs it. */
    clis: ConstructorParameters<typeof DiscoveryGate>[0];
}

/** Reads the arguments; every mistake is an {@link ArgumentError} naming the option, before any call. */
export function discoverArgs(given: DiscoverCommandArgs, discoveries: readonly CloudDiscovery[]): DiscoverArgs {
    const byFlag = new Map(discoveries.flatMap((d) => d.options.map((o) => [o.flag, { cloud: d, option: o }] as const)));
    const raw = new Map(Object.entries(given.values));
    const cloudText = raw.get("--cloud");
    if (!cloudText) throw new ArgumentError(`--cloud is required: one or more of ${discoveries.map((d) => d.cloud).join(", ")}`);
    const clouds: CloudDiscovery[] = [];
    for (const name of cloudText.split(",")) {
        const d = discoveries.find((x) => x.cloud === name.trim());
        if (!d)
            throw new ArgumentError(
                `--cloud: ${JSON.stringify(name.slice(0, 40))} is not a cloud; expected ${discoveries.map((x) => x.cloud).join(", ")}`,
            );
        if (!clouds.includes(d)) clouds.push(d);
    }
    const options = new Map<CloudDiscovery, Record<string, string[]>>(clouds.map((c) => [c, {}]));
    for (const [flag, text] of raw) {
        const owner = byFlag.get(flag);
        if (!owner) continue;
        if (!clouds.includes(owner.cloud))
            throw new ArgumentError(`${flag} is an option of ${owner.cloud.cloud}, which --cloud does not name`);
        const values = text.split(",").map((v) => v.trim());
        for (const v of values)
            if (!owner.option.pattern.test(v))
                throw new ArgumentError(`${flag}: ${JSON.stringify(v.slice(0, 80))} is not valid; expected ${owner.option.expected}`);
        options.get(owner.cloud)![flag] = [...new Set(values)];
    }
    const guests: ("windows" | "linux")[] = [];
    for (const g of (raw.get("--guests") ?? "windows").split(",").map((v) => v.trim())) {
        const found = GUESTS.find((x) => x === g);
        if (!found) throw new ArgumentError(`--guests: ${JSON.stringify(g.slice(0, 40))} is not valid; expected windows, linux or both`);
        if (!guests.includes(found)) guests.push(found);
    }
    const time = (flag: string, fallback: number) => {
        const text = raw.get(flag);
        if (text === undefined) return fallback;
        const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
        if (Number.isNaN(t))
            throw new ArgumentError(
                `${flag}: ${JSON.stringify(text.slice(0, 40))} is not an ISO 8601 time with a zone, such as 2024-07-19T04:09:00Z`,
            );
        return t;
    };
    const since = time("--since", CHANNEL_FILE_291.since);
    // A window moved by --since alone keeps channel file 291's length (78 minutes).
    const until = time("--until", raw.has("--since") ? since + (CHANNEL_FILE_291.until - CHANNEL_FILE_291.since) : CHANNEL_FILE_291.until);
    if (until <= since) throw new ArgumentError("--until must be after --since");
    const stack = raw.get("--stack");
    if (stack !== undefined && !STACK_NAME.test(stack))
        throw new ArgumentError(`--stack: ${JSON.stringify(stack.slice(0, 40))} is not a stack name`);
    if (given.force && !raw.has("--out")) throw new ArgumentError("--force needs --out: it allows replacing that file");
    const out = raw.get("--out");
    // The inventory is YAML (its reasons and the VMs listed apart are comments); npm run plan reads
    // a .csv as CSV, so a YAML file under another extension would be misread, not refused.
    if (out !== undefined && !/\.ya?ml$/i.test(out))
        throw new ArgumentError(
            `--out: ${JSON.stringify(out.slice(0, 80))}: discovery writes a YAML inventory; name the file .yaml or .yml`,
        );
    return {
        clouds,
        options,
        guests,
        stack,
        falconCsv: raw.get("--falcon-csv"),
        window: { since, until },
        out,
        force: given.force,
        json: given.json,
    };
}

/**
 * Scans the clouds, writes the inventory (to `--out`, or stdout) and reports on stderr (`--json`:
 * the report as JSON on stdout). A scope the login cannot reach is a bad argument, like any other
 * option; a bad Falcon export is invalid input; a cloud's error is the command's.
 */
export async function runDiscoverCommand(given: DiscoverCommandArgs, context: CommandContext, clouds: DiscoverClouds): Promise<"ok"> {
    try {
        return await discoverAndWrite(discoverArgs(given, clouds.discoveries), context, clouds);
    } catch (err) {
        throw err instanceof OptionError ? new ArgumentError(err.message) : err;
    }
}

async function discoverAndWrite(args: DiscoverArgs, context: CommandContext, clouds: DiscoverClouds): Promise<"ok"> {
    const out = args.out ? path.resolve(context.cwd, args.out) : undefined;
    if (out) checkOut(out, args.force);
    const stackFile = args.stack ? `Pulumi.${args.stack}.yaml` : "";
    const config = configSourceOf(args.stack ? readStackConfig(context.stackDir, args.stack) : { values: {}, secretKeys: [] });
    let falcon: FalconExport | undefined;
    if (args.falconCsv) {
        let text: string;
        try {
            text = fs.readFileSync(path.resolve(context.cwd, args.falconCsv), "utf8");
        } catch (err) {
            throw new ArgumentError(`--falcon-csv: cannot read ${args.falconCsv}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        falcon = parseFalconExport(args.falconCsv, text, args.window);
    }

    const processes = Math.max(1, Math.min(64, Number(context.env.BOOTLOOP_MAX_CLI_PROCESSES) || defaultCliProcesses(os.cpus().length)));
    const gate = new DiscoveryGate(clouds.clis, processes);
    const started = Date.now();
    // Progress and the summary carry names from the clouds (tags, aliases): shown terminal-safe.
    const progress = (line: string) => void context.stderr.write(`discover: ${terminalText(line)}\n`);
    const scans = args.clouds.map((cloud) => ({
        cloud,
        request: { options: args.options.get(cloud)!, config, stackFile, guests: args.guests },
    }));
    const d = await discover({ clouds: scans, falcon, cli: gate, progress });

    const scanned = `Scanned: ${args.clouds.map((c) => c.cloud).join(", ")}; ${d.scopes.length} scopes; ${falcon ? `Falcon export ${args.falconCsv} (${falcon.hosts.length} hosts)` : "no Falcon export"}; bad window ${new Date(args.window.since).toISOString()} to ${new Date(args.window.until).toISOString()}.`;
    const inv = inventoryText(d, {
        at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        scanned,
        scopeLabels: new Map(clouds.discoveries.map((c) => [c.cloud, c.scopeLabel])),
        identities: clouds.identities,
    });
    if (inv.text) checkInventory(inv.text, args.out ?? "discovered.yaml", clouds);
    let written: string | undefined;
    if (inv.text && out) {
        writeOut(out, inv.text, args.force);
        written = args.out;
    }
    const doc = report(d, inv, gate, written, scanned);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const summary = [
        inv.text
            ? `${inv.candidates.length} boot-looping VMs${written ? `: wrote ${written}` : ""} (canary ${inv.candidates[0].vm.name} in ${inv.canaryZone})`
            : "no boot-looping VM found: nothing written",
        `listed apart: ${d.findings.filter((f) => f.bucket === "stopped").length} not running, ${d.findings.filter((f) => f.bucket === "scale-group").length} in scale groups, ${d.findings.filter((f) => f.bucket === "no-rescue-path").length} without a rescue path, ${d.findings.filter((f) => f.bucket === "review").length} low confidence${falcon ? `, ${d.falconUnmatched.length} Falcon hosts not found` : ""}`,
        `${Object.values(gate.calls).reduce((a, b) => a + b, 0)} CLI calls (${d.reads} per-VM reads) in ${seconds} s; CLI CPU estimate ${JSON.stringify(cliCpuSeconds(gate.calls))} s (prices per call: ${cliCpuSecondsPerCall().source})`,
        ...(written
            ? [`next: review ${written}, then npm run plan -- --inventory ${written} (or point a stack's inventory at it) and pulumi up`]
            : []),
    ];
    if (args.json) context.stdout.write(`${jsonText({ ...doc, ...(out ? {} : { inventory: inv.text ?? null }) })}\n`);
    else if (!out && inv.text) context.stdout.write(inv.text);
    context.stderr.write(summary.map((l) => `discover: ${terminalText(l)}\n`).join(""));
    return "ok";
}

/** Refuses an --out that exists (without --force) or whose folder does not, before anything is scanned. */
function checkOut(out: string, force: boolean): void {
    if (!fs.existsSync(path.dirname(out))) throw new ArgumentError(`--out: the folder ${path.dirname(out)} does not exist`);
    if (fs.existsSync(out) && !force) throw new ArgumentError(`--out: ${out} exists; discovery never overwrites a file without --force`);
}

/** Writes the inventory: a new file only (without --force), or atomically replaced (with it). */
function writeOut(out: string, text: string, force: boolean): void {
    if (!force) {
        fs.writeFileSync(out, text, { flag: "wx" });
        return;
    }
    const temp = `${out}.${process.pid}.tmp`;
    fs.writeFileSync(temp, text, { flag: "wx" });
    fs.renameSync(temp, out);
}

/**
 * The CPU the real CLIs would spend on these calls (`aws ec2 describe-instances` → 3 calls), per
 * cloud, each call at its cloud's median measured price (bench/fleet/cli-cost.json).
 */
function cliCpuSeconds(calls: Record<string, number>): Record<string, number> {
    const price = cliCpuSecondsPerCall().seconds;
    const seconds: Record<string, number> = {};
    for (const [name, n] of Object.entries(calls)) {
        const cloud = name.split(" ")[0];
        seconds[cloud] = Math.round(((seconds[cloud] ?? 0) + n * (price[cloud] ?? Math.max(...Object.values(price)))) * 10) / 10;
    }
    return seconds;
}

function report(d: Discovery, inv: DiscoveredInventory, gate: DiscoveryGate, written: string | undefined, scanned: string): object {
    const counts = (b: string) => d.findings.filter((f) => f.bucket === b);
    const show = (f: (typeof d.findings)[number]) => ({
        cloud: f.vm.cloud,
        name: f.vm.name,
        fields: f.vm.fields,
        zone: f.vm.zone,
        confidence: f.confidence,
        reasons: f.reasons,
        ...(f.notInFalcon ? { notInFalcon: true } : {}),
    });
    return {
        written: written ?? null,
        scanned,
        candidates: inv.candidates.map(show),
        canary: inv.candidates[0] ? { name: inv.candidates[0].vm.name, zone: inv.canaryZone } : null,
        stopped: counts("stopped").map(show),
        scaleGroup: counts("scale-group").map(show),
        noRescuePath: counts("no-rescue-path").map(show),
        lowConfidence: counts("review").map(show),
        falconButHealthy: counts("falcon-but-healthy").map(show),
        falconNotFound: d.falconUnmatched.map((h) => ({
            line: h.line,
            hostname: h.hostname,
            instanceId: h.instanceId,
            account: h.account,
            lastSeen: new Date(h.lastSeen).toISOString(),
        })),
        falconAmbiguous: d.falconAmbiguous.map((a) => ({ line: a.host.line, hostname: a.host.hostname, vms: a.vms })),
        unwritable: inv.unwritable.map(show),
        scopes: d.scopes,
        reads: d.reads,
        calls: gate.calls,
        throttled: gate.throttled,
        peakCliProcesses: gate.peakProcesses,
        cliCpuSeconds: cliCpuSeconds(gate.calls),
    };
}

/** The report as JSON a terminal cannot act on (see {@link inertJson}). */
export function jsonText(value: unknown): string {
    return inertJson(value, 2);
}

/** The written text must be an inventory the program accepts unchanged; a failure here is our bug, and nothing is written. */
function checkInventory(text: string, name: string, clouds: DiscoverClouds): void {
    validateInventory(
        parseYamlInventory(name, text),
        inventoryContext(clouds.identities, clouds.builtClouds, { get: () => undefined, kind: () => "missing" }),
    );
}
