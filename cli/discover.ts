// Finds the boot-looping Windows VMs of the scoped clouds from outside the guest, with read-only
// calls, and writes the inventory for review: discover → review the file → npm run plan → pulumi up.
//
//   npm run discover -- --cloud aws|azure|gcp[,…] [scope options] [--stack NAME]
//                       [--falcon-csv FILE] [--since ISO] [--until ISO]
//                       [--out stacks/NAME.yaml] [--force] [--json]
//
// Without --out the inventory goes to stdout; progress and the report go to stderr.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { builtClouds, identities } from "../components/registry/inventory";
import { discoveries } from "../components/registry/discoveries";
import { cloudWatches } from "../components/registry/watchers";
import { inertJson, terminalText } from "../components/tools/display-text";
import { DiscoveryGate } from "../components/tools/discovery/cli";
import { Discovery, discover } from "../components/tools/discovery/discover";
import { BadWindow, CHANNEL_FILE_291, FalconExport, parseFalconExport } from "../components/tools/discovery/falcon";
import { DiscoveredInventory, inventoryText } from "../components/tools/discovery/inventory-text";
import { CloudDiscovery, OptionError, ScopeRequest } from "../components/tools/discovery/types";
import { InputError } from "../components/core/contract/problems";
import { parseYamlInventory } from "../components/core/inventory/read";
import { validateInventory } from "../components/core/inventory/validate";
import { inventoryContext } from "../components/core/inventory/context";
import { configSourceOf, readStackConfig } from "../components/tools/offline/stack-config";
import { CLI_CPU_SECONDS, defaultCliProcesses } from "../components/gate/defaults";
import { disableStackTraces } from "./command/fast-stacks";
import { answeredHelp, ArgumentError, readFlags, STACK_NAME } from "./command/flags";

const COMMON = ["--cloud", "--stack", "--falcon-csv", "--since", "--until", "--out"];
const FLAGS = ["--force", "--json"];

function usage(): string {
    const scoped = discoveries.flatMap((d) => d.options.map((o) => `  ${o.flag.padEnd(20)} ${d.cloud}: ${o.help} (comma-separated)`));
    return [
        "usage: npm run discover -- --cloud aws|azure|gcp[,…] [scope options] [--stack NAME] [--falcon-csv FILE] [--since ISO] [--until ISO] [--out FILE] [--force] [--json]",
        ...scoped,
        "  --stack NAME         read settings (AWS roles per account, boot markers) from Pulumi.NAME.yaml",
        "  --falcon-csv FILE    a CrowdStrike host export: hosts last seen inside the bad window confirm VMs",
        "  --since/--until ISO  the bad window (default 2024-07-19T04:09:00Z to 05:27:00Z, channel file 291)",
        "  --out FILE           write the inventory there (never over an existing file without --force)",
    ].join("\n");
}

export interface DiscoverArgs {
    clouds: CloudDiscovery[];
    options: Map<CloudDiscovery, Record<string, string[]>>;
    stack?: string;
    falconCsv?: string;
    window: BadWindow;
    out?: string;
    force: boolean;
    json: boolean;
}

/** Reads the command line; every mistake is an {@link OptionError} naming the option, before any call. */
export function parseArgs(argv: string[]): DiscoverArgs {
    const byFlag = new Map(discoveries.flatMap((d) => d.options.map((o) => [o.flag, { cloud: d, option: o }] as const)));
    let given: ReturnType<typeof readFlags>;
    try {
        given = readFlags(argv, { values: [...COMMON, ...byFlag.keys()], switches: FLAGS });
    } catch (err) {
        throw err instanceof ArgumentError ? new OptionError(err.message.replace(/^--([a-z-]+) is given twice; give it once$/, "--$1 is given twice; give one comma-separated list")) : err;
    }
    const raw = new Map(Object.entries(given.values));
    const flags = given.switches;
    const cloudText = raw.get("--cloud");
    if (!cloudText) throw new OptionError(`--cloud is required: one or more of ${discoveries.map((d) => d.cloud).join(", ")}`);
    const clouds: CloudDiscovery[] = [];
    for (const name of cloudText.split(",")) {
        const d = discoveries.find((x) => x.cloud === name.trim());
        if (!d) throw new OptionError(`--cloud: ${JSON.stringify(name.slice(0, 40))} is not a cloud; expected ${discoveries.map((x) => x.cloud).join(", ")}`);
        if (!clouds.includes(d)) clouds.push(d);
    }
    const options = new Map<CloudDiscovery, Record<string, string[]>>(clouds.map((c) => [c, {}]));
    for (const [flag, text] of raw) {
        const owner = byFlag.get(flag);
        if (!owner) continue;
        if (!clouds.includes(owner.cloud)) throw new OptionError(`${flag} is an option of ${owner.cloud.cloud}, which --cloud does not name`);
        const values = text.split(",").map((v) => v.trim());
        for (const v of values) if (!owner.option.pattern.test(v)) throw new OptionError(`${flag}: ${JSON.stringify(v.slice(0, 80))} is not valid; expected ${owner.option.expected}`);
        options.get(owner.cloud)![flag] = [...new Set(values)];
    }
    const time = (flag: string, fallback: number) => {
        const text = raw.get(flag);
        if (text === undefined) return fallback;
        const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
        if (Number.isNaN(t)) throw new OptionError(`${flag}: ${JSON.stringify(text.slice(0, 40))} is not an ISO 8601 time with a zone, such as 2024-07-19T04:09:00Z`);
        return t;
    };
    const since = time("--since", CHANNEL_FILE_291.since);
    // A window moved by --since alone keeps channel file 291's length (78 minutes).
    const until = time("--until", raw.has("--since") ? since + (CHANNEL_FILE_291.until - CHANNEL_FILE_291.since) : CHANNEL_FILE_291.until);
    if (until <= since) throw new OptionError("--until must be after --since");
    const stack = raw.get("--stack");
    if (stack !== undefined && !STACK_NAME.test(stack)) throw new OptionError(`--stack: ${JSON.stringify(stack.slice(0, 40))} is not a stack name`);
    if (flags.has("--force") && !raw.has("--out")) throw new OptionError("--force needs --out: it allows replacing that file");
    const out = raw.get("--out");
    // The inventory is YAML (its reasons and the VMs listed apart are comments); npm run plan reads
    // a .csv as CSV, so a YAML file under another extension would be misread, not refused.
    if (out !== undefined && !/\.ya?ml$/i.test(out)) throw new OptionError(`--out: ${JSON.stringify(out.slice(0, 80))}: discovery writes a YAML inventory; name the file .yaml or .yml`);
    return { clouds, options, stack, falconCsv: raw.get("--falcon-csv"), window: { since, until }, out: raw.get("--out"), force: flags.has("--force"), json: flags.has("--json") };
}

/** Refuses an --out that exists (without --force) or whose folder does not, before anything is scanned. */
function checkOut(out: string, force: boolean): void {
    if (!fs.existsSync(path.dirname(out))) throw new OptionError(`--out: the folder ${path.dirname(out)} does not exist`);
    if (fs.existsSync(out) && !force) throw new OptionError(`--out: ${out} exists; discovery never overwrites a file without --force`);
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

/** The CPU the real CLIs would spend on these calls (`aws ec2 describe-instances` → 3 calls), per cloud. */
function cliCpuSeconds(calls: Record<string, number>): Record<string, number> {
    const seconds: Record<string, number> = {};
    for (const [name, n] of Object.entries(calls)) {
        const cloud = name.split(" ")[0];
        seconds[cloud] = Math.round(((seconds[cloud] ?? 0) + n * (CLI_CPU_SECONDS[cloud] ?? 0.5)) * 10) / 10;
    }
    return seconds;
}

function report(d: Discovery, inv: DiscoveredInventory, gate: DiscoveryGate, written: string | undefined, scanned: string): object {
    const counts = (b: string) => d.findings.filter((f) => f.bucket === b);
    const show = (f: (typeof d.findings)[number]) => ({ cloud: f.vm.cloud, name: f.vm.name, fields: f.vm.fields, zone: f.vm.zone, confidence: f.confidence, reasons: f.reasons, ...(f.notInFalcon ? { notInFalcon: true } : {}) });
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
        falconNotFound: d.falconUnmatched.map((h) => ({ line: h.line, hostname: h.hostname, instanceId: h.instanceId, account: h.account, lastSeen: new Date(h.lastSeen).toISOString() })),
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

async function main(): Promise<number> {
    disableStackTraces();
    const projectDir = process.env.BOOTLOOP_STACK_DIR || path.resolve(__dirname, "..");
    const cwd = process.env.INIT_CWD ?? process.cwd();
    const args = parseArgs(process.argv.slice(2));
    const out = args.out ? path.resolve(cwd, args.out) : undefined;
    if (out) checkOut(out, args.force);
    const stackFile = args.stack ? `Pulumi.${args.stack}.yaml` : "";
    const config = configSourceOf(args.stack ? readStackConfig(projectDir, args.stack) : { values: {}, secretKeys: [] });
    let falcon: FalconExport | undefined;
    if (args.falconCsv) {
        let text: string;
        try {
            text = fs.readFileSync(path.resolve(cwd, args.falconCsv), "utf8");
        } catch (err) {
            throw new OptionError(`--falcon-csv: cannot read ${args.falconCsv}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        falcon = parseFalconExport(args.falconCsv, text, args.window);
    }

    const processes = Math.max(1, Math.min(64, Number(process.env.BOOTLOOP_MAX_CLI_PROCESSES) || defaultCliProcesses(os.cpus().length)));
    const gate = new DiscoveryGate(cloudWatches, processes);
    const started = Date.now();
    // Progress and the summary carry names from the clouds (tags, aliases): shown terminal-safe.
    const progress = (line: string) => process.stderr.write(`discover: ${terminalText(line)}\n`);
    const clouds = args.clouds.map((cloud) => ({ cloud, request: { options: args.options.get(cloud)!, config, stackFile } as ScopeRequest }));
    const d = await discover({ clouds, falcon, cli: gate, progress });

    const scanned = `Scanned: ${args.clouds.map((c) => c.cloud).join(", ")}; ${d.scopes.length} scopes; ${falcon ? `Falcon export ${args.falconCsv} (${falcon.hosts.length} hosts)` : "no Falcon export"}; bad window ${new Date(args.window.since).toISOString()} to ${new Date(args.window.until).toISOString()}.`;
    const inv = inventoryText(d, { at: new Date().toISOString().replace(/\.\d+Z$/, "Z"), scanned, scopeLabels: new Map(discoveries.map((c) => [c.cloud, c.scopeLabel])), identities });
    if (inv.text) checkInventory(inv.text, args.out ?? "discovered.yaml");
    let written: string | undefined;
    if (inv.text && out) {
        writeOut(out, inv.text, args.force);
        written = args.out;
    }
    const doc = report(d, inv, gate, written, scanned);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const summary = [
        inv.text ? `${inv.candidates.length} boot-looping VMs${written ? `: wrote ${written}` : ""} (canary ${inv.candidates[0].vm.name} in ${inv.canaryZone})` : "no boot-looping VM found: nothing written",
        `listed apart: ${d.findings.filter((f) => f.bucket === "stopped").length} not running, ${d.findings.filter((f) => f.bucket === "scale-group").length} in scale groups, ${d.findings.filter((f) => f.bucket === "no-rescue-path").length} without a rescue path, ${d.findings.filter((f) => f.bucket === "review").length} low confidence${falcon ? `, ${d.falconUnmatched.length} Falcon hosts not found` : ""}`,
        `${Object.values(gate.calls).reduce((a, b) => a + b, 0)} CLI calls (${d.reads} per-VM reads) in ${seconds} s; CLI CPU estimate ${JSON.stringify(cliCpuSeconds(gate.calls))} s`,
        ...(written ? [`next: review ${written}, then npm run plan -- --inventory ${written} (or point a stack's inventory at it) and pulumi up`] : []),
    ];
    if (args.json) process.stdout.write(`${jsonText({ ...doc, ...(out ? {} : { inventory: inv.text ?? null }) })}\n`);
    else if (!out && inv.text) process.stdout.write(inv.text);
    process.stderr.write(summary.map((l) => `discover: ${terminalText(l)}\n`).join(""));
    return 0;
}

/** The report as JSON a terminal cannot act on (see {@link inertJson}). */
export function jsonText(value: unknown): string {
    return inertJson(value, 2);
}

/** The written text must be an inventory the program accepts unchanged; a failure here is our bug, and nothing is written. */
function checkInventory(text: string, name: string): void {
    validateInventory(parseYamlInventory(name, text), inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }));
}

if (require.main === module) {
    // exitCode, not exit(): a large report on a pipe must be written out before the process ends.
    main().then(
        (code) => void (process.exitCode = code),
        (err) => {
            // Messages may quote a cloud's own words: shown terminal-safe.
            const message = (text: string) => terminalText(text, { multiline: true });
            if (answeredHelp(err, usage())) return void (process.exitCode = 0);
            if (err instanceof OptionError) process.stderr.write(`npm run discover: ${message(err.message)}\n${usage()}\n`);
            else process.stderr.write(`${message(err instanceof InputError ? err.message : `error: ${err instanceof Error ? err.message : String(err)}`)}\n`);
            process.exitCode = err instanceof OptionError ? 2 : err instanceof InputError ? 1 : 3;
        },
    );
}
