// The operator's own stack selection, kept: the Automation API selects a stack (`pulumi stack
// select`) to run on it, which changes the selection every later `pulumi` command in that project
// uses. The incident selects back the stack that was selected before it, once it is done.
import type { Workspace } from "@pulumi/pulumi/automation";

/** What keeping the selection needs of a workspace. */
export type SelectingWorkspace = Pick<Workspace, "stack" | "selectStack">;

/**
 * The stack selected now, to give back later with {@link selectAgain}; undefined when none is
 * selected or the workspace cannot say (then nothing is given back, and nothing was lost).
 */
export async function selectionBefore(workspace: SelectingWorkspace): Promise<string | undefined> {
    try {
        return (await workspace.stack())?.name;
    } catch {
        return undefined;
    }
}

/**
 * Selects `before` again when the run selected another stack. A failure to do so is said (with the
 * command that does it by hand), never thrown: the incident's own outcome stands.
 */
export async function selectAgain(
    workspace: SelectingWorkspace,
    before: string | undefined,
    ran: string,
    say: (text: string) => void,
): Promise<void> {
    if (before === undefined || before === ran) return;
    try {
        await workspace.selectStack(before);
    } catch (err) {
        const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
        say(
            `stack ${before} was selected before this run and could not be selected again (${why}); to do it: pulumi stack select ${before}`,
        );
    }
}
