// Live progress of a running `pulumi up`: per wave and cloud, VMs waiting, in backup, repairing,
// swapping, verified and failed; each failure with its reason as soon as the engine reports it; and
// a one-line summary for a chat webhook on each wave's end, on the first failure and at the end.
//
//   pulumi up --json --stack S | npm run watch -- --stack S          the engine's events on stdin
//   pulumi up --event-log up.events --stack S   (another terminal:)
//   npm run watch -- --stack S --events up.events                    follows the event log as it grows
//   ... [--webhook-env VAR]   post summaries to the URL in environment variable VAR (a secret; unset or empty is an error)
//   ... [--interval SECONDS]  how often the table is printed while something changes (default 30)
//   ... [--quiet SECONDS]     with --events: the log not growing this long means the update is gone
//                             (exit 3); default the stack's longest step time limit plus 10 minutes
//
// Exit: 0 the update succeeded and every VM of the plan verified; 1 the update ended otherwise (a
// VM, a resource, a policy or the update as a whole failed, it was cancelled, or a VM never
// verified); 2 bad arguments or input; 3 the stream ended before the update did (interrupted).
import * as fs from "fs";
import * as path from "path";
import { identities, paths } from "../components/registry/clouds";
import { terminalText } from "../components/tools/display-text";
import { InputError } from "../components/core/contract/problems";
import { runOffline } from "../components/tools/offline/run";
import { readStackConfig } from "../components/tools/offline/stack-config";
import { EventInputCheck } from "../components/tools/progress/input-check";
import { JsonObjectStream } from "../components/tools/progress/json-stream";
import { Change, FleetProgress, WatchPlan, watchPlanOf } from "../components/tools/progress/progress";
import { progressTable, summaryLine, verdictText, waveDoneText } from "../components/tools/progress/render";
import { checkWebhookUrl, postLine } from "../components/tools/progress/webhook";
import { disableStackTraces } from "./command/fast-stacks";
import { ArgumentError, commandArguments, readFlags, stackName } from "./command/flags";

const USAGE = "usage: npm run watch -- --stack NAME [--events FILE [--quiet SECONDS]] [--webhook-env VAR] [--interval SECONDS]";

interface Args {
    stack: string;
    events?: string;
    webhook?: URL;
    intervalMs: number;
    /** With --events, the quiet period asked for (ms); by default the stack's (see quiet.ts). */
    quietMs?: number;
}

function parseArgs(argv: string[]): Args {
    const raw = readFlags(argv, { values: ["--stack", "--events", "--webhook-env", "--interval", "--quiet"] }).values;
    if (!raw["--stack"]) throw new ArgumentError("--stack is required: the stack being updated (its plan names the VMs and waves)");
    const stack = stackName("--stack", raw["--stack"]);
    const interval = raw["--interval"] ?? "30";
    if (!/^\d{1,5}$/.test(interval)) throw new ArgumentError(`--interval: ${JSON.stringify(interval)} must be whole seconds`);
    const quiet = raw["--quiet"];
    if (quiet !== undefined) {
        if (raw["--events"] === undefined) throw new ArgumentError("--quiet applies to --events only (the events on stdin end when the update's process does)");
        if (!/^\d{1,6}$/.test(quiet) || Number(quiet) < 1) throw new ArgumentError(`--quiet: ${JSON.stringify(quiet)} must be whole seconds from 1`);
    }
    const webhookEnv = raw["--webhook-env"];
    let webhook: URL | undefined;
    if (webhookEnv !== undefined) {
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,100}$/.test(webhookEnv)) throw new ArgumentError(`--webhook-env: ${JSON.stringify(webhookEnv)} is not a variable name`);
        const value = process.env[webhookEnv];
        // Asked for summaries that could not be posted is an error, not a silent watch without them.
        if (!value) throw new ArgumentError(`--webhook-env ${webhookEnv}: the variable is not set (or empty); set it to the webhook's URL, or leave --webhook-env out`);
        try {
            webhook = checkWebhookUrl(value);
        } catch (err) {
            throw new ArgumentError(`--webhook-env ${webhookEnv}: ${(err as Error).message}`);
        }
    }
    return { stack, events: raw["--events"], webhook, intervalMs: Number(interval) * 1000, quietMs: quiet === undefined ? undefined : Number(quiet) * 1000 };
}

/** The VMs, waves and resource names of the stack, from its offline plan. */
async function watchPlan(stack: string): Promise<WatchPlan> {
    const projectDir = process.env.BOOTLOOP_STACK_DIR || path.resolve(__dirname, "..");
    const config = readStackConfig(projectDir, stack);
    return watchPlanOf(await runOffline({ stack, config, baseDir: projectDir, identities, paths, details: false }));
}

/**
 * Feeds the engine's events to `onChunk`: stdin to its end, or an event log followed as it grows
 * until `done()`, or until it has not grown for `quietMs()` milliseconds (resolves "quiet").
 */
function readEvents(file: string | undefined, onChunk: (text: string) => void, done: () => boolean, quietMs: () => number): Promise<"end" | "quiet"> {
    if (file === undefined) {
        return new Promise((resolve, reject) => {
            process.stdin.setEncoding("utf8");
            process.stdin.on("data", (chunk: string) => onChunk(chunk));
            process.stdin.on("end", () => resolve("end"));
            process.stdin.on("error", reject);
        });
    }
    const cwd = process.env.INIT_CWD ?? process.cwd();
    const full = path.resolve(cwd, file);
    return new Promise((resolve, reject) => {
        let offset = 0;
        let grewAt = Date.now();
        const decoder = new TextDecoder();
        const tick = () => {
            try {
                if (fs.existsSync(full)) {
                    const size = fs.statSync(full).size;
                    if (size > offset) {
                        const fd = fs.openSync(full, "r");
                        try {
                            const buf = Buffer.alloc(Math.min(size - offset, 8 * 1024 * 1024));
                            const n = fs.readSync(fd, buf, 0, buf.length, offset);
                            offset += n;
                            grewAt = Date.now();
                            onChunk(decoder.decode(buf.subarray(0, n), { stream: true }));
                        } finally {
                            fs.closeSync(fd);
                        }
                    }
                }
                if (done()) resolve("end");
                else if (Date.now() - grewAt >= quietMs()) resolve("quiet");
                else setTimeout(tick, 500);
            } catch (err) {
                reject(err);
            }
        };
        tick();
    });
}

async function main(): Promise<number> {
    disableStackTraces();
    const read = commandArguments("watch", USAGE, parseArgs);
    if ("exit" in read) return read.exit;
    const args = read.args;
    // Everything printed may hold text from guests, clouds and the engine: terminal-safe, always.
    const out = (text: string) => process.stdout.write(`${terminalText(text, { multiline: true })}\n`);
    const err = (text: string) => process.stderr.write(`${terminalText(text, { multiline: true })}\n`);
    // Read the events from the start, while the plan is computed: an update writing to a full
    // pipe would wait for the watch.
    const early: string[] = [];
    let feed: (chunk: string) => void = (chunk) => void early.push(chunk);
    let ended = false;
    // Until the plan gives the stack's default, only an explicit --quiet can end the reading.
    let quietMs = args.quietMs ?? Infinity;
    const reading = readEvents(args.events, (chunk) => feed(chunk), () => ended, () => quietMs);
    const plan = await watchPlan(args.stack);
    quietMs = args.quietMs ?? (plan.quietSeconds ?? Infinity) * 1000;
    const progress = new FleetProgress(plan);
    out(progressTable(progress, args.stack));

    // Posts go out one after another; the watch waits for them before it ends.
    let posts: Promise<void> = Promise.resolve();
    const post = (text: string) => {
        if (!args.webhook) return;
        const url = args.webhook;
        posts = posts.then(async () => {
            const error = await postLine(url, text);
            if (error) err(`warning: ${error}; the summary was: ${text}`);
        });
    };

    let changed = false;
    let lastTable = Date.now();
    let firstFailure = true;
    const report = (changes: Change[]) => {
        for (const c of changes) {
            if (c.kind === "phase" || c.kind === "verified") changed = true;
            else if (c.kind === "failed" || c.kind === "other-failure") {
                changed = true;
                const what = c.vm ? `${c.vm.label} (wave ${c.vm.wave})` : c.resource!;
                out(`FAILED ${what}: ${c.reason ?? "the reason follows when the engine reports it"}`);
                if (firstFailure) {
                    firstFailure = false;
                    post(summaryLine(progress, args.stack, `FAILED ${what}${c.reason ? `: ${c.reason}` : ""}`));
                }
            } else if (c.kind === "reason") out(`  reason for ${c.vm?.label ?? c.resource}: ${c.reason}`);
            else if (c.kind === "wave-done") {
                out(`${waveDoneText(progress, c.wave!)}`);
                out(progressTable(progress, args.stack));
                post(summaryLine(progress, args.stack, waveDoneText(progress, c.wave!)));
                changed = false;
                lastTable = Date.now();
            }
        }
        if (changed && Date.now() - lastTable >= args.intervalMs) {
            out(progressTable(progress, args.stack));
            changed = false;
            lastTable = Date.now();
        }
    };
    // Input that is not this stack's engine events is refused at once, in words; a followed log
    // stops there, stdin is read to its end without acting on it (closing the pipe would stop the
    // update writing into it).
    const check = new EventInputCheck(args.stack);
    let refused: string | undefined;
    const refuse = (problem: string | undefined) => {
        if (!problem || refused) return;
        refused = problem;
        err(`npm run watch: ${problem}`);
        if (args.events === undefined) err("npm run watch: reading the rest of stdin without acting on it, so the pipe stays open");
        ended = true;
    };
    const stream = new JsonObjectStream(
        (event) => {
            if (refused) return;
            refuse(check.value(event));
            if (refused) return;
            report(progress.apply(event));
            ended = progress.ended !== undefined;
        },
        (text) => void (refused || refuse(check.skipped(text))),
    );
    feed = (chunk: string) => {
        stream.push(chunk);
    };
    for (const chunk of early.splice(0)) stream.push(chunk);
    const how = await reading;
    stream.end();
    refuse(check.end());
    if (refused) return 2;
    if (how === "quiet" && !progress.ended) out(`no new event in ${Math.round(quietMs / 1000)} s (--quiet): the update stopped without its summary (its process died?)`);

    out(progressTable(progress, args.stack));
    const end = progress.ended;
    const verdict = verdictText(progress);
    out(verdict);
    post(summaryLine(progress, args.stack, verdict));
    await posts;
    if (!end) return 3;
    return end.result === "succeeded" ? 0 : 1;
}

main().then(
    (code) => void (process.exitCode = code),
    (error) => {
        const message = error instanceof InputError ? error.message : `npm run watch: ${error instanceof Error ? error.message : String(error)}`;
        process.stderr.write(`${terminalText(message, { multiline: true })}\n`);
        process.exitCode = error instanceof InputError ? 2 : 3;
    },
);
