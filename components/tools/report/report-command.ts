// `npm run report`: the recovery report, Markdown, from a stack's outputs (the Pulumi CLI's
// `pulumi stack output --json`), a saved copy of them, the vms output alone, or a stack export;
// opened by the status headline and a timeline picture, drawn from the update's events when given.
import * as fs from "fs";
import * as path from "path";
import { ArgumentError, CommandContext } from "../command-contract";
import { stackOfEvent } from "../progress/input-check";
import { JsonObjectStream } from "../progress/json-stream";
import { WatchPlan } from "../progress/progress";
import { appendJobSummary } from "../status/markdown";
import { StatusRecorder, StatusSnapshot } from "../status/model";
import { writeStatusPage } from "../status/page";
import { BadInputError, KIND_NAMES, recogniseStackJson } from "./input-kind";
import { renderReport } from "./render";
import { StackJsonSource, readStackJson, wrongInputIsBadArguments, writeResult } from "./stack-json";

/** What `npm run report` was asked for. */
export interface ReportCommandArgs extends StackJsonSource {
    /** Where to write the report (from where the command was started); stdout without it. */
    out?: string;
    /** The update's engine events (`pulumi up --json` output or `--event-log` file), for the timeline. */
    events?: string;
    /** Also write the status page there (needs `events` for its timeline; from the records alone without). */
    statusPage?: string;
    /** Also append the status in Markdown to the GitHub job summary ($GITHUB_STEP_SUMMARY). */
    summary?: boolean;
}

/** The stack's plan as the status model reads it (its VMs, waves and resource names), from its stack file. */
export type PlanOf = (stack: string) => Promise<WatchPlan>;

/** The engine's events of a saved file, parsed; an unreadable file or one with no event is bad input. */
function readEvents(file: string, context: Pick<CommandContext, "cwd">): unknown[] {
    let text: string;
    try {
        text = fs.readFileSync(path.resolve(context.cwd, file), "utf8");
    } catch (err) {
        throw new BadInputError(`--events ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const events: unknown[] = [];
    const stream = new JsonObjectStream((v) => void events.push(v));
    stream.push(text);
    stream.end();
    if (!events.some((e) => stackOfEvent(e)))
        throw new BadInputError(`--events ${file}: holds no engine event of a stack (use pulumi up --json, or --event-log FILE)`);
    return events;
}

/**
 * Writes the report of what ran (and, when asked, the status page and the job summary from the
 * same snapshot). An offline plan (nothing has run, its values are placeholders), JSON that is
 * none of those, or events of another stack end `badArguments` saying what to give; a Pulumi CLI
 * that fails is an error of the command's (`failed`). `planOf` reads the stack's plan (with `events`).
 */
export async function runReportCommand(args: ReportCommandArgs, context: CommandContext, planOf?: PlanOf, now = new Date()): Promise<"ok"> {
    if (args.summary && !context.env.GITHUB_STEP_SUMMARY)
        throw new ArgumentError("--summary appends to $GITHUB_STEP_SUMMARY, which is not set (GitHub Actions sets it)");
    const { vms, source, events, stack } = wrongInputIsBadArguments(() => {
        const { value, source } = readStackJson(
            args,
            context,
            ["stack", "output", "--json"],
            "JSON (stack outputs, the vms output, or a stack export)",
        );
        const input = recogniseStackJson(value, source);
        if (!input.vms)
            throw new BadInputError(
                `${source}: ${KIND_NAMES[input.kind]}; the report reads what ran: stack outputs (\`pulumi stack output --json\`), the vms output alone, or a stack export`,
            );
        const events = args.events !== undefined ? readEvents(args.events, context) : undefined;
        const named = events?.map((e) => stackOfEvent(e)?.stack).find((s) => s !== undefined);
        if (args.stack && named && named !== args.stack.split("/").pop())
            throw new BadInputError(
                `--events ${args.events}: the events are stack ${JSON.stringify(named)}'s, not --stack ${args.stack}'s`,
            );
        return { vms: input.vms, source, events, stack: args.stack?.split("/").pop() ?? named };
    });
    let status: StatusSnapshot | undefined;
    if (events && stack && planOf) {
        const recorder = new StatusRecorder(stack, await planOf(stack));
        for (const e of events) recorder.event(e);
        recorder.outputs(vms);
        status = recorder.snapshot(now);
    }
    writeResult(args.out, renderReport({ vms }, source, now, status), context);
    if (args.statusPage !== undefined || args.summary) {
        const snapshot = status ?? StatusRecorder.fromRecords(stack ?? source, vms).snapshot(now);
        if (args.statusPage !== undefined) writeStatusPage(path.resolve(context.cwd, args.statusPage), snapshot);
        if (args.summary) appendJobSummary(context.env, snapshot);
    }
    return "ok";
}
