// `npm run watch`: live progress of a running `pulumi up`, from the engine's events (stdin, or an
// event log followed as it grows): per wave and cloud, VMs waiting, in backup, repairing, swapping,
// verified and failed; each failure with its reason as soon as the engine reports it; and a
// one-line summary for a chat webhook on each wave's end, on the first failure and at the end.
import * as fs from "fs";
import * as path from "path";
import { CloudIdentity } from "../../core/contract/identity";
import { CloudPath } from "../../core/contract/cloud-path";
import { ArgumentError, CommandContext, stackName } from "../command-contract";
import { terminalText } from "../display-text";
import { runOffline } from "../offline/run";
import { readStackConfig } from "../offline/stack-config";
import { EventInputCheck } from "./input-check";
import { JsonObjectStream } from "./json-stream";
import { Change, FleetProgress, WatchPlan, watchPlanOf } from "./progress";
import { progressTable, summaryLine, verdictText, waveDoneText } from "./render";
import { checkWebhookUrl, postLine } from "./webhook";
import { StatusRecorder } from "../status/model";
import { writeStatusPage } from "../status/page";
import { appendJobSummary } from "../status/markdown";

/** The status page is rewritten at most this often while the update runs (ms). */
const PAGE_EVERY_MS = 5000;

/** What `npm run watch` was asked for, each value as typed. */
export interface WatchCommandArgs {
    /** The stack being updated (its plan names the VMs and waves). */
    stack?: string;
    /** An event log to follow (`pulumi up --event-log FILE`), from where the command was started; stdin without it. */
    events?: string;
    /** The environment variable that holds the webhook's URL (a secret). */
    webhookEnv?: string;
    /** Whole seconds between two tables while something changes (default 30). */
    interval?: string;
    /** With `events`: whole seconds the log may stay quiet before the update is taken for gone. */
    quiet?: string;
    /** The status page to keep (from where the command was started): rewritten as the update goes and at its end. */
    statusPage?: string;
    /** At the end, append the status in Markdown to the GitHub job summary ($GITHUB_STEP_SUMMARY). */
    summary?: boolean;
}

/** The clouds the stack's plan is made with (the composition root's). */
export interface WatchClouds {
    identities: readonly CloudIdentity[];
    paths: readonly CloudPath[];
}

/** The arguments checked. */
interface Args {
    stack: string;
    events?: string;
    webhook?: URL;
    intervalMs: number;
    /** With --events, the quiet period asked for (ms); by default the stack's (see quiet.ts). */
    quietMs?: number;
    /** The status page's path, resolved. */
    statusPage?: string;
    /** The job summary's file ($GITHUB_STEP_SUMMARY), when --summary. */
    summaryEnv?: Record<string, string | undefined>;
}

/** The arguments checked, every mistake an {@link ArgumentError} naming the flag; the webhook's URL read from `env`. */
function watchArgs(raw: WatchCommandArgs, env: CommandContext["env"], cwd: string): Args {
    if (!raw.stack) throw new ArgumentError("--stack is required: the stack being updated (its plan names the VMs and waves)");
    const stack = stackName("--stack", raw.stack);
    const interval = raw.interval ?? "30";
    if (!/^\d{1,5}$/.test(interval)) throw new ArgumentError(`--interval: ${JSON.stringify(interval)} must be whole seconds`);
    const quiet = raw.quiet;
    if (quiet !== undefined) {
        if (raw.events === undefined)
            throw new ArgumentError("--quiet applies to --events only (the events on stdin end when the update's process does)");
        if (!/^\d{1,6}$/.test(quiet) || Number(quiet) < 1)
            throw new ArgumentError(`--quiet: ${JSON.stringify(quiet)} must be whole seconds from 1`);
    }
    const webhookEnv = raw.webhookEnv;
    let webhook: URL | undefined;
    if (webhookEnv !== undefined) {
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,100}$/.test(webhookEnv))
            throw new ArgumentError(`--webhook-env: ${JSON.stringify(webhookEnv)} is not a variable name`);
        const value = env[webhookEnv];
        // Asked for summaries that could not be posted is an error, not a silent watch without them.
        if (!value)
            throw new ArgumentError(
                `--webhook-env ${webhookEnv}: the variable is not set (or empty); set it to the webhook's URL, or leave --webhook-env out`,
            );
        try {
            webhook = checkWebhookUrl(value);
        } catch (err) {
            throw new ArgumentError(`--webhook-env ${webhookEnv}: ${(err as Error).message}`);
        }
    }
    let statusPage: string | undefined;
    if (raw.statusPage !== undefined) {
        statusPage = path.resolve(cwd, raw.statusPage);
        const dir = path.dirname(statusPage);
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
            throw new ArgumentError(`--status-page ${JSON.stringify(raw.statusPage)}: its folder does not exist`);
        if (fs.existsSync(statusPage) && fs.statSync(statusPage).isDirectory())
            throw new ArgumentError(`--status-page ${JSON.stringify(raw.statusPage)} is a folder; give a file name (status.html)`);
    }
    // Asked for a summary that could not be written is an error, not a silent watch without it.
    if (raw.summary && !env.GITHUB_STEP_SUMMARY)
        throw new ArgumentError(
            "--summary appends to $GITHUB_STEP_SUMMARY, which is not set (GitHub Actions sets it); outside it use --status-page",
        );
    return {
        stack,
        events: raw.events,
        webhook,
        intervalMs: Number(interval) * 1000,
        quietMs: quiet === undefined ? undefined : Number(quiet) * 1000,
        statusPage,
        summaryEnv: raw.summary ? { GITHUB_STEP_SUMMARY: env.GITHUB_STEP_SUMMARY } : undefined,
    };
}

/** The VMs, waves and resource names of the stack, from its offline plan. */
export async function watchPlan(stack: string, stackDir: string, clouds: WatchClouds): Promise<WatchPlan> {
    const config = readStackConfig(stackDir, stack);
    return watchPlanOf(
        await runOffline({ stack, config, baseDir: stackDir, identities: clouds.identities, paths: clouds.paths, details: false }),
    );
}

/**
 * Feeds the engine's events to `onChunk`: `stdin` to its end, or an event log (from `cwd`) followed
 * as it grows until `done()`, or until it has not grown for `quietMs()` milliseconds (resolves "quiet").
 */
function readEvents(
    file: string | undefined,
    context: Pick<CommandContext, "cwd" | "stdin">,
    onChunk: (text: string) => void,
    done: () => boolean,
    quietMs: () => number,
): Promise<"end" | "quiet"> {
    if (file === undefined) {
        return new Promise((resolve, reject) => {
            const stdin = context.stdin;
            stdin.setEncoding("utf8");
            stdin.on("data", (chunk: string) => onChunk(chunk));
            stdin.on("end", () => resolve("end"));
            stdin.on("error", reject);
        });
    }
    const full = path.resolve(context.cwd, file);
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
                reject(err instanceof Error ? err : new Error(String(err)));
            }
        };
        tick();
    });
}

/**
 * Follows the update to its end, printing its progress, and ends with its verdict: `ok` the update
 * succeeded and every VM of the plan verified; `failed` it ended otherwise; `badArguments` the
 * input is not this stack's engine events; `checkFailed` the events ended, or went quiet, before
 * the update did. Bad arguments are {@link ArgumentError}s, before anything is read.
 */
export async function runWatchCommand(
    given: WatchCommandArgs,
    context: CommandContext,
    clouds: WatchClouds,
): Promise<"ok" | "failed" | "badArguments" | "checkFailed"> {
    const args = watchArgs(given, context.env, context.cwd);
    // Everything printed may hold text from guests, clouds and the engine: terminal-safe, always.
    const out = (text: string) => void context.stdout.write(`${terminalText(text, { multiline: true })}\n`);
    const err = (text: string) => void context.stderr.write(`${terminalText(text, { multiline: true })}\n`);
    // Read the events from the start, while the plan is computed: an update writing to a full
    // pipe would wait for the watch.
    const early: string[] = [];
    let feed: (chunk: string) => void = (chunk) => void early.push(chunk);
    let ended = false;
    // Until the plan gives the stack's default, only an explicit --quiet can end the reading.
    let quietMs = args.quietMs ?? Infinity;
    const reading = readEvents(
        args.events,
        context,
        (chunk) => feed(chunk),
        () => ended,
        () => quietMs,
    );
    const plan = await watchPlan(args.stack, context.stackDir, clouds);
    quietMs = args.quietMs ?? (plan.quietSeconds ?? Infinity) * 1000;
    const progress = new FleetProgress(plan);
    // The status page and the job summary: from the same events, through the status model.
    const status = args.statusPage || args.summaryEnv ? new StatusRecorder(args.stack, plan) : undefined;
    // Rewritten at most every PAGE_EVERY_MS (a 5,000-VM page takes a tenth of a second), the last
    // change always written, and at once at the end.
    let lastPage = 0;
    let pending: NodeJS.Timeout | undefined;
    const page = (now = false) => {
        if (!status || !args.statusPage) return;
        const wait = PAGE_EVERY_MS - (Date.now() - lastPage);
        if (!now && wait > 0) {
            pending ??= setTimeout(() => {
                pending = undefined;
                page(true);
            }, wait).unref();
            return;
        }
        if (pending) clearTimeout(pending);
        pending = undefined;
        lastPage = Date.now();
        try {
            writeStatusPage(args.statusPage, status.snapshot());
        } catch (e) {
            err(`warning: the status page ${args.statusPage} could not be written: ${(e as Error).message}`);
        }
    };
    out(progressTable(progress, args.stack));
    page();

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
                page();
                if (firstFailure) {
                    firstFailure = false;
                    post(summaryLine(progress, args.stack, `FAILED ${what}${c.reason ? `: ${c.reason}` : ""}`));
                }
            } else if (c.kind === "reason") out(`  reason for ${c.vm?.label ?? c.resource}: ${c.reason}`);
            else if (c.kind === "wave-done") {
                out(`${waveDoneText(progress, c.wave!)}`);
                out(progressTable(progress, args.stack));
                page();
                post(summaryLine(progress, args.stack, waveDoneText(progress, c.wave!)));
                changed = false;
                lastTable = Date.now();
            }
        }
        if (changed && Date.now() - lastTable >= args.intervalMs) {
            out(progressTable(progress, args.stack));
            page();
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
            status?.event(event);
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
    if (pending) clearTimeout(pending);
    if (refused) return "badArguments";
    if (how === "quiet" && !progress.ended)
        out(`no new event in ${Math.round(quietMs / 1000)} s (--quiet): the update stopped without its summary (its process died?)`);

    out(progressTable(progress, args.stack));
    const end = progress.ended;
    const verdict = verdictText(progress);
    out(verdict);
    page(true);
    if (status && args.statusPage) out(`status page: ${args.statusPage}`);
    if (status && args.summaryEnv) {
        try {
            appendJobSummary(args.summaryEnv, status.snapshot());
        } catch (e) {
            err(`warning: the job summary could not be written: ${(e as Error).message}`);
        }
    }
    post(summaryLine(progress, args.stack, verdict));
    await posts;
    if (!end) return "checkFailed";
    return end.result === "succeeded" ? "ok" : "failed";
}
