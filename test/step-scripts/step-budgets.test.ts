// Every command step's time covers the waits its script can make (issue #29): this reads each
// step's script (core's base.sh, the cloud's common.sh and libraries, the script), follows the
// helpers it calls from its top level, and sums every bounded wait it finds: each `wait_for` (and
// through it every wait helper: wait_instance, wait_volume, healthy_within, wait_vm, wait_power,
// booted_within, ...), with its seconds as the step's own environment and the scripts' defaults
// (`X_TIMEOUT_SECONDS=${X_TIMEOUT_SECONDS:-600}`) make them, times a loop's bound; and a lock wait,
// which lasts until the step's deadline. Every call site counts once, exclusive branches included:
// the sum bounds every path. Then, with the commands the clouds really declare (under mocks), it
// checks that the cloud's declared waits cover that sum, that the script's deadline
// (STEP_TIMEOUT_SECONDS) is longer than the sum, and that Pulumi's customTimeout (create and
// update) is longer than both.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { awsScript } from "../../components/aws/scripts";
import { azureScript } from "../../components/azure/scripts";
import { gcpScript } from "../../components/gcp/scripts";
import { awsBuilt } from "../../components/aws/built";
import { azureBuilt } from "../../components/azure/built";
import { gcpBuilt } from "../../components/gcp/built";
import * as awsSteps from "../../components/aws/steps";
import * as azureSteps from "../../components/azure/steps";
import * as gcpSteps from "../../components/gcp/steps";
import { StepWait } from "../../components/core/contract/step-waits";
import { stepBudget } from "../../components/core/step-budget";
import { Settings } from "../../components/core/contract/settings";
import { StepContext } from "../../components/core/contract/cloud-path";
import { ChainStep, chainStepName } from "../../components/core/contract/chain-steps";

// ---------------------------------------------------------------------------------------------
// The script reader: a small reading of bash, enough for these scripts, that refuses what it
// cannot bound (a wait whose seconds it cannot evaluate, a wait inside a loop without a bound).
// ---------------------------------------------------------------------------------------------

/** Loops whose bound is data, not a setting, with the bound assumed (and why). */
const DATA_LOOP_BOUNDS: Record<string, number> = {
    // aws repair.sh: the parts of an evidence longer than one Systems Manager output (24,000
    // characters). Two parts is already more than the 20 KB a VM's state may hold.
    count: 2,
};

interface FoundWait {
    /** The call chain that leads to it, e.g. `stop_instance > wait_instance > wait_for`. */
    via: string;
    seconds: number;
    times: number;
    /** A wait that ends at the step's deadline (a lock): it cannot outlast the deadline. */
    untilDeadline?: boolean;
}

interface Reading {
    waits: FoundWait[];
    problems: string[];
}

type Token = { kind: "word"; text: string; subs: string[] } | { kind: "sep"; text: string };

/** Splits bash text into words and separators; `$(…)` inside a word is kept and listed in `subs`. */
function tokenize(text: string): Token[] {
    const out: Token[] = [];
    let i = 0;
    let word = "";
    let subs: string[] = [];
    const flush = () => {
        if (word !== "") out.push({ kind: "word", text: word, subs });
        word = "";
        subs = [];
    };
    /** The index just after the `close` matching the opener at `from` (quotes and nesting respected). */
    const balanced = (from: number, open: string, close: string): number => {
        let depth = 0;
        let j = from;
        while (j < text.length) {
            const c = text[j];
            if (c === "\\") j += 2;
            else if (c === "'" && open !== "{") j = text.indexOf("'", j + 1) + 1;
            else if (c === '"') j = quoted(j);
            else if (text.startsWith(open, j)) {
                depth++;
                j += open.length;
            } else if (text.startsWith(close, j)) {
                depth--;
                j += close.length;
                if (depth === 0) return j;
            } else j++;
        }
        return text.length;
    };
    /** The index just after the double-quoted string opening at `from`. */
    const quoted = (from: number): number => {
        let j = from + 1;
        while (j < text.length && text[j] !== '"') {
            if (text[j] === "\\") j += 2;
            else if (text.startsWith("$(", j)) j = balanced(j + 1, "(", ")");
            else j++;
        }
        return j + 1;
    };
    const substitutions = (piece: string) => {
        for (let k = piece.indexOf("$("); k >= 0; k = piece.indexOf("$(", k + 2)) {
            if (piece.startsWith("$((", k)) continue;
            let depth = 0;
            let end = k + 1;
            for (; end < piece.length; end++) {
                if (piece[end] === "(") depth++;
                else if (piece[end] === ")" && --depth === 0) break;
            }
            subs.push(piece.slice(k + 2, end));
        }
    };
    while (i < text.length) {
        const c = text[i];
        if (c === "\\" && text[i + 1] === "\n") i += 2;
        else if (c === " " || c === "\t") {
            flush();
            i++;
        } else if (c === "#" && word === "") {
            while (i < text.length && text[i] !== "\n") i++;
        } else if (c === "'") {
            const end = text.indexOf("'", i + 1) + 1;
            word += text.slice(i, end);
            i = end;
        } else if (c === '"') {
            const end = quoted(i);
            substitutions(text.slice(i, end));
            word += text.slice(i, end);
            i = end;
        } else if (text.startsWith("$((", i) || (word === "" && text.startsWith("((", i))) {
            const start = text[i] === "$" ? i + 1 : i;
            const end = balanced(start, "((", "))");
            word += text.slice(i, end);
            i = end;
        } else if (text.startsWith("$(", i)) {
            const end = balanced(i + 1, "(", ")");
            subs.push(text.slice(i + 2, end - 1));
            word += text.slice(i, end);
            i = end;
        } else if (text.startsWith("${", i)) {
            const end = balanced(i + 1, "{", "}");
            word += text.slice(i, end);
            i = end;
        } else if (text.startsWith("[[", i) && word === "") {
            // A test: its words call nothing (but may hold substitutions, read in turn).
            const end = text.indexOf("]]", i) + 2;
            substitutions(text.slice(i, end));
            word += text.slice(i, end);
            i = end;
        } else {
            const op = ["&&", "||", ";;", ";", "|", "&", "(", ")", "\n"].find((o) => text.startsWith(o, i));
            if (op && !(op === "&" && (word.endsWith(">") || word.endsWith("<")))) {
                flush();
                out.push({ kind: "sep", text: op });
                i += op.length;
            } else {
                word += c;
                i++;
            }
        }
    }
    flush();
    return out;
}

/** The script's functions (the last definition of a name wins, as in bash) and its top-level text. */
function functionsOf(text: string): { functions: Map<string, string>; top: string } {
    const lines = text.split("\n");
    const functions = new Map<string, string>();
    const top: string[] = [];
    for (let i = 0; i < lines.length; i++) {
        const m = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{(.*)$/.exec(lines[i]);
        if (!m) {
            top.push(lines[i]);
            continue;
        }
        const [, indent, name, rest] = m;
        // One line (`name() { …; }`, perhaps with a comment after it), or up to its closing brace.
        if (/\}\s*(#.*)?$/.test(rest)) {
            functions.set(name, rest.replace(/\}\s*(#.*)?$/, ""));
            continue;
        }
        const body = [rest];
        while (++i < lines.length && !new RegExp(`^${indent}\\}\\s*$`).test(lines[i])) {
            // A definition inside a body: this reading lost a function's end, and would miss waits.
            if (/^\s*[A-Za-z_][A-Za-z0-9_]*\(\)\s*\{/.test(lines[i]))
                throw new Error(`cannot read where ${name}() ends (line: ${lines[i]})`);
            body.push(lines[i]);
        }
        functions.set(name, body.join("\n"));
    }
    return { functions, top: top.join("\n") };
}

/** Defaults the scripts give their bounds: `NAME=${NAME:-600}`. */
function defaultsOf(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of text.matchAll(/^\s*([A-Z_][A-Z0-9_]*)=\$\{\1:-([0-9.]+)\}\s*$/gm)) out[m[1]] ??= m[2];
    return out;
}

const KEYWORDS = new Set([
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "do",
    "done",
    "while",
    "until",
    "for",
    "case",
    "esac",
    "in",
    "!",
    "{",
    "}",
    "local",
    "exec",
]);

/** Reads the waits the script `text` can make with the step's `environment`. */
function readWaits(text: string, environment: Record<string, string>): Reading {
    const { functions, top } = functionsOf(text);
    const env: Record<string, string> = { ...defaultsOf(text), ...environment };
    const reading: Reading = { waits: [], problems: [] };

    const expand = (raw: string, args: string[]): string[] => {
        if (raw === '"$@"' || raw === "$@") return args;
        if (raw.startsWith("'")) return [raw.slice(1, -1)];
        const value = raw
            .replace(
                /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g,
                (_, name: string, __, fallback?: string) => env[name] || fallback || `<${name}>`,
            )
            .replace(/\$([1-9])/g, (_, n: string) => args[Number(n) - 1] ?? "")
            .replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => env[name] ?? `<${name}>`);
        return [value.replace(/^"|"$/g, "")];
    };
    const seconds = (value: string | undefined): number | undefined =>
        value !== undefined && /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : undefined;

    /** Reads a block of text run with positional `args`, `times` over, inside the calls `stack`. */
    const block = (body: string, args: string[], times: number, stack: string[]) => {
        const tokens = tokenize(body);
        const loops: number[] = [];
        let command: string[] = [];
        let commandSubs: string[] = [];
        let header: string | undefined;
        const multiplier = () => loops.reduce((a, b) => a * b, times);
        const run = () => {
            for (const sub of commandSubs) block(sub, args, multiplier(), stack);
            const words = command.flatMap((w) => expand(w, args));
            command = [];
            commandSubs = [];
            while (words.length && (KEYWORDS.has(words[0]) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]))) words.shift();
            if (!words.length) return;
            const [name, ...rest] = words;
            const via = [...stack, name].join(" > ");
            const where = () => `${via} ${rest.join(" ")}`.trim();
            const waited = (s: number | undefined, untilDeadline = false) => {
                const n = multiplier();
                if (s === undefined) reading.problems.push(`cannot bound the wait: ${where()}`);
                else if (!Number.isFinite(n)) reading.problems.push(`a wait in a loop without a bound: ${where()}`);
                else if (s > 0) reading.waits.push({ via, seconds: s, times: n, ...(untilDeadline ? { untilDeadline } : {}) });
            };
            if (name === "wait_for") waited(seconds(rest[3]));
            // A lock is waited for until the step's deadline.
            else if (name === "lock_fd") waited(seconds(env.STEP_TIMEOUT_SECONDS), true);
            else if (functions.has(name) && !stack.includes(name)) block(functions.get(name)!, rest, multiplier(), [...stack, name]);
        };
        for (const t of tokens) {
            if (t.kind === "sep") {
                if (header !== undefined && t.text !== "\n" && t.text !== ";") continue;
                run();
                continue;
            }
            if (command.length === 0 && ["while", "until", "for"].includes(t.text) && header === undefined) {
                header = "";
                continue;
            }
            if (header !== undefined) {
                if (t.text === "do") {
                    const bound =
                        /^\(\(\s*\w+\s*<\s*\$?(\w+)\s*\)\)$/.exec(header.trim()) ??
                        /^\(\(.*;\s*\w+\s*<\s*\$?(\w+)\s*;.*\)\)$/.exec(header.trim());
                    const limit = bound ? (seconds(env[bound[1]]) ?? DATA_LOOP_BOUNDS[bound[1]]) : undefined;
                    const from = /^\(\(\s*\w+\s*=\s*([0-9]+)\s*;/.exec(header.trim());
                    loops.push(limit === undefined ? Infinity : limit - (from ? Number(from[1]) : 0));
                    header = undefined;
                } else header += ` ${t.text}`;
                continue;
            }
            if (t.text === "done" && command.length === 0) {
                loops.pop();
                continue;
            }
            command.push(t.text);
            commandSubs.push(...t.subs);
        }
        run();
    };
    block(top, [], 1, []);
    return reading;
}

const total = (waits: readonly { seconds: number; times?: number }[]) => waits.reduce((s, w) => s + w.seconds * (w.times ?? 1), 0);
const listed = (r: Reading) => r.waits.map((w) => `  ${w.seconds} s${w.times === 1 ? "" : ` × ${w.times}`}: ${w.via}`).join("\n");

// ---------------------------------------------------------------------------------------------
// The commands the clouds declare, captured under mocks with their options.
// ---------------------------------------------------------------------------------------------

interface Captured {
    name: string;
    environment: Record<string, string>;
    customTimeouts?: pulumi.CustomTimeouts;
}

const SETTINGS_CASES: { name: string; settings: Partial<Settings> }[] = [
    {
        name: "the default settings",
        settings: { bootTimeoutMinutes: 20, repairTimeoutMinutes: 30, rebootTimeoutMinutes: 5, maxReboots: 15 },
    },
    {
        name: "long timeouts, few restarts",
        settings: { bootTimeoutMinutes: 90, repairTimeoutMinutes: 120, rebootTimeoutMinutes: 12, maxReboots: 3 },
    },
];

const out = <T>(v: T) => pulumi.output(v);

function context(
    fields: Record<string, string>,
    originalDiskId: string,
    facts: Record<string, string>,
    capture: pulumi.ResourceTransformation,
): StepContext {
    return {
        vm: {
            slug: "vm-1",
            label: "vm 1",
            fields,
            labels: {},
            facts,
            originalDiskId,
            placement: { scope: fields.scope ?? "scope", region: fields.region ?? "us-east-1", zone: "zone-a" },
            seat: { slot: 0 },
        },
        opts: { transformations: [capture] },
        teardown: false,
    } as unknown as StepContext;
}

/** Each cloud's command steps, declared as the program declares them, and the script each runs. */
function declareSteps(
    settings: Settings,
    capture: pulumi.ResourceTransformation,
): { cloud: string; step: string; text: string; declared: readonly StepWait[] }[] {
    const disk = { resource: undefined as unknown as pulumi.Resource, diskId: out("disk-1") };
    const rescue = { resource: undefined as unknown as pulumi.Resource, id: out("rescue-1") };
    const attached = { attach: { resource: undefined as unknown as pulumi.Resource, handle: out("handle-1") }, rescue };

    const aws = {
        settings,
        config: { bootMarker: "Windows is Ready to use", assumeRoleArns: {} },
        providerOf: () => undefined,
        document: () => ({ name: out("doc") }),
        tags: {},
    };
    const awsCtx = () =>
        context(
            { region: "us-east-1", instanceId: "i-0123456789abcdef0" },
            "vol-0111111111111111a",
            { rootDeviceName: "/dev/sda1" },
            capture,
        );
    const a = awsSteps as any;
    a.swap(aws, awsCtx(), disk);
    a.reboot(aws, awsCtx(), { mustRecover: true });
    a.repair(aws, awsCtx(), attached);
    a.rollback(aws, awsCtx());

    const azure = { settings, providerOf: () => undefined, rescueOf: () => ({}), tags: {}, userTags: {} };
    const azureCtx = () =>
        context(
            { subscriptionId: "11111111-2222-3333-4444-555555555555", resourceGroup: "rg", vmName: "app-01" },
            "/subscriptions/x/disk",
            {},
            capture,
        );
    const z = azureSteps as any;
    z.swap(azure, azureCtx(), disk, undefined);
    z.reboot(azure, azureCtx(), { mustRecover: true });
    z.rollback(azure, azureCtx());
    z.attach(azure, azureCtx(), disk, rescue);

    const gcp = {
        settings,
        config: { bootMarker: "Windows is ready" },
        providerOf: () => undefined,
        rescueOf: () => ({ name: "rescue-1" }),
        labels: {},
    };
    const gcpCtx = () => context({ project: "my-project", zone: "us-central1-a", instance: "web-1" }, "disk-0", {}, capture);
    const g = gcpSteps as any;
    g.swap(gcp, gcpCtx(), disk);
    g.reboot(gcp, gcpCtx(), { mustRecover: true });
    g.repair(gcp, gcpCtx(), attached);
    g.rollback(gcp, gcpCtx());

    // The steps that are commands; the other scripts (restore points, keys, Azure's detach, the
    // attach's delete) run as the program's own child processes or wait for nothing.
    // Each cloud's declared waits, as its inventory-level description carries them (registry/inventory.ts).
    const awsWaits = awsBuilt.stepWaits as unknown as Record<string, (s: Settings) => readonly StepWait[]>;
    const azureWaits = azureBuilt.stepWaits as unknown as Record<string, (s: Settings) => readonly StepWait[]>;
    const gcpWaits = gcpBuilt.stepWaits as unknown as Record<string, (s: Settings) => readonly StepWait[]>;
    const declared = (w: Record<string, (s: Settings) => readonly StepWait[]> | undefined, step: string) =>
        w?.[step] ? w[step](settings) : [];
    return [
        ...(["swap", "reboot", "repair", "rollback"] as const).map((step) => ({
            cloud: "aws",
            step,
            text: awsScript(step),
            declared: declared(awsWaits, step),
        })),
        ...(["swap", "reboot", "rollback", "attach"] as const).map((step) => ({
            cloud: "azure",
            step,
            text: azureScript(step),
            declared: declared(azureWaits, step),
        })),
        ...(["swap", "reboot", "repair", "rollback"] as const).map((step) => ({
            cloud: "gcp",
            step,
            text: gcpScript(step),
            declared: declared(gcpWaits, step),
        })),
    ];
}

/** Minutes or seconds of a Pulumi duration ("50m", "1h30m", "90s"), in seconds. */
function durationSeconds(text: string | undefined): number {
    if (!text) return Infinity;
    const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
    let seconds = 0;
    for (const m of text.matchAll(/([0-9.]+)([hms])/g)) seconds += Number(m[1]) * units[m[2]];
    return seconds;
}

describe("step budgets: every command step's time covers the waits its script can make", function () {
    this.timeout(120_000);

    before(async () => {
        await pulumi.runtime.setMocks(
            { newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }), call: () => ({}) },
            "bootloop-rescue",
            "budgets",
            false,
        );
    });

    it("the reader finds the waits a script makes, through its helpers and loops, and refuses a wait it cannot bound", () => {
        const text = [
            "STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-600}",
            "wait_for() { :; }",
            'wait_thing() { wait_for thing "$ID" "$1" "$2" "x=$3"; }',
            "stop_it() {",
            '    if ! wait_thing stopped "$STOP_TIMEOUT_SECONDS"; then',
            '        wait_thing stopped "$STOP_TIMEOUT_SECONDS" || fail "no"',
            "    fi",
            "}",
            "from=$(wait_for a b c 7)",
            '[[ $s == stopped ]] || stop_it "hint"',
            "while ((n < MAX_REBOOTS)); do",
            '    case $s in stopping) wait_thing stopped "$BOOT_SECONDS" && start ;; esac',
            "done",
        ].join("\n");
        const r = readWaits(text, { MAX_REBOOTS: "3", BOOT_SECONDS: "100" });
        assert.deepEqual(r.problems, []);
        assert.equal(total(r.waits), 7 + 600 + 600 + 3 * 100, listed(r));
        const unbounded = readWaits('wait_for() { :; }\nwhile :; do wait_for a b c 5; done\nwait_for a b c "$NOPE"', {});
        assert.deepEqual(unbounded.problems, [
            "a wait in a loop without a bound: wait_for a b c 5",
            "cannot bound the wait: wait_for a b c <NOPE>",
        ]);
    });

    for (const { name, settings: partial } of SETTINGS_CASES) {
        describe(`with ${name}`, () => {
            const captured: Captured[] = [];
            let steps: ReturnType<typeof declareSteps> = [];
            before(() => {
                const settings = { teardown: false, ruleSet: "crowdstrike-291", ...partial } as Settings;
                const capture: pulumi.ResourceTransformation = (args) => {
                    if (args.type === "command:local:Command") {
                        const environment = Object.fromEntries(
                            Object.entries((args.props.environment ?? {}) as Record<string, unknown>).filter(
                                ([, v]) => typeof v === "string",
                            ),
                        ) as Record<string, string>;
                        captured.push({ name: args.name, environment, customTimeouts: args.opts.customTimeouts });
                    }
                    return undefined;
                };
                steps = declareSteps(settings, capture);
            });

            for (const cloud of ["aws", "azure", "gcp"]) {
                it(`${cloud}: every command step's declared waits, script deadline and customTimeout cover its script's waits`, () => {
                    const mine = steps.filter((s) => s.cloud === cloud);
                    const commands = captured.splice(0, mine.length);
                    for (const [i, s] of mine.entries()) {
                        const command = commands[i];
                        assert.equal(command.name, chainStepName("vm-1", s.step as ChainStep));
                        const reading = readWaits(s.text, command.environment);
                        const label = `${cloud} ${s.step}`;
                        assert.deepEqual(reading.problems, [], `${label}: the script has waits this test cannot bound`);
                        const sum = total(reading.waits);
                        assert.ok(sum > 0, `${label}: no wait found`);
                        const create = durationSeconds(command.customTimeouts?.create);
                        const update = durationSeconds(command.customTimeouts?.update);
                        assert.ok(
                            create > sum && update > sum,
                            `${label}: customTimeouts create ${command.customTimeouts?.create} (${create} s) and update ${command.customTimeouts?.update} (${update} s) must be longer than the ${sum} s of waits its script can make:\n${listed(reading)}`,
                        );
                        // The deadline outlasts the waits (a lock's wait ends at it, so it is not counted
                        // here), and ends before Pulumi's customTimeout, so the script reports why it stopped.
                        const deadline = Number(command.environment.STEP_TIMEOUT_SECONDS ?? defaultsOf(s.text).STEP_TIMEOUT_SECONDS);
                        const beforeDeadline = total(reading.waits.filter((w) => !w.untilDeadline));
                        assert.ok(
                            deadline > beforeDeadline && deadline < create && deadline < update,
                            `${label}: the script's deadline (STEP_TIMEOUT_SECONDS ${deadline} s) must be longer than its ${beforeDeadline} s of waits and end before the customTimeout (${create} s)`,
                        );
                        const declared = stepBudget(s.declared);
                        assert.ok(
                            declared.waitSeconds >= sum,
                            `${label}: the declared waits (${declared.waitSeconds} s: ${s.declared.map((w) => `${w.bound} ${w.seconds}${w.times ? ` × ${w.times}` : ""}`).join(", ")}) do not cover the ${sum} s its script can wait:\n${listed(reading)}`,
                        );
                        if (command.environment.STEP_TIMEOUT_SECONDS !== undefined)
                            assert.equal(
                                Number(command.environment.STEP_TIMEOUT_SECONDS),
                                declared.stepTimeoutSeconds,
                                `${label}: the deadline is the declared budget's`,
                            );
                        assert.equal(
                            command.customTimeouts?.create,
                            `${declared.minutes}m`,
                            `${label}: the customTimeout is the declared budget's`,
                        );
                        for (const w of s.declared.filter((d) => /^[A-Z_]+_SECONDS\b/.test(d.bound)))
                            assert.ok(
                                s.text.includes(w.bound.split(" ")[0]),
                                `${label}: the declared bound ${w.bound} is not in its script`,
                            );
                    }
                });
            }
        });
    }
});
