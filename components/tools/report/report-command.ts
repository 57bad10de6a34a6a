// `npm run report`: the recovery report, Markdown, from a stack's outputs (the Pulumi CLI's
// `pulumi stack output --json`), a saved copy of them, the vms output alone, or a stack export.
import { CommandContext } from "../command-contract";
import { BadInputError, KIND_NAMES, recogniseStackJson } from "./input-kind";
import { renderReport } from "./render";
import { StackJsonSource, readStackJson, wrongInputIsBadArguments, writeResult } from "./stack-json";

/** What `npm run report` was asked for. */
export interface ReportCommandArgs extends StackJsonSource {
    /** Where to write the report (from where the command was started); stdout without it. */
    out?: string;
}

/**
 * Writes the report of what ran. An offline plan (nothing has run, its values are placeholders),
 * or JSON that is none of those, ends `badArguments` saying what to give; a Pulumi CLI that fails
 * is an error of the command's (`failed`).
 */
export function runReportCommand(args: ReportCommandArgs, context: CommandContext, now = new Date()): "ok" {
    const { vms, source } = wrongInputIsBadArguments(() => {
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
        return { vms: input.vms, source };
    });
    writeResult(args.out, renderReport({ vms }, source, now), context);
    return "ok";
}
