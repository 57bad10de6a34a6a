// `npm run incident`'s arguments, checked before anything runs: the stack, where it runs, the
// policy pack, and whether a person can confirm the update (in CI nobody can: --yes or nothing).
import * as fs from "fs";
import * as path from "path";
import { ArgumentError, CommandContext, stackName } from "../command-contract";

/** What `npm run incident` was asked for, each value as typed. */
export interface IncidentCommandArgs {
    /** The stack to recover (`Pulumi.<stack>.yaml` and its inventory). */
    stack?: string;
    /** Run against the sandbox (the real engine on a simulated cloud) instead of the user's Pulumi CLI and backend. */
    sandbox: boolean;
    /** Create the stack when the backend has none of that name (never without it). */
    create: boolean;
    /** Update without asking (what CI must give). */
    yes: boolean;
    /** The policy pack folder (from where the command was started); the project's `policy/` without it. */
    policyPack?: string;
    /** Accept preflight checks that could not be made (as `npm run plan -- --preflight --allow-skipped`). */
    allowSkipped: boolean;
    /** The status page's file (from where the command was started); `status-<stack>.html` there without it. */
    statusPage?: string;
}

/** The arguments checked. */
export interface IncidentArgs {
    stack: string;
    sandbox: boolean;
    create: boolean;
    yes: boolean;
    /** The policy pack's folder, absolute. */
    policyPack: string;
    allowSkipped: boolean;
    /** The status page's file, absolute. */
    statusPage: string;
}

/** Whether the environment says this runs in CI (`CI` set to anything but empty, `0` or `false`). */
export function inCi(env: CommandContext["env"]): boolean {
    const ci = env.CI;
    return ci !== undefined && !["", "0", "false"].includes(ci.trim().toLowerCase());
}

/**
 * The arguments checked, every mistake an {@link ArgumentError} naming the flag, before anything is
 * planned, built or created. Without --yes the update needs a person to confirm it: in CI (`CI`
 * set) or with a standard input that is not a terminal, nobody can, and the command is refused here.
 */
export function incidentArgs(
    raw: IncidentCommandArgs,
    context: Pick<CommandContext, "cwd" | "projectDir" | "env">,
    stdinIsTty: boolean,
): IncidentArgs {
    if (!raw.stack) throw new ArgumentError("--stack is required: the stack to recover (Pulumi.<stack>.yaml names its inventory)");
    const stack = stackName("--stack", raw.stack);
    const policyPack = raw.policyPack === undefined ? path.join(context.projectDir, "policy") : path.resolve(context.cwd, raw.policyPack);
    if (!fs.existsSync(path.join(policyPack, "PulumiPolicy.yaml")))
        throw new ArgumentError(
            `--policy-pack: ${JSON.stringify(raw.policyPack ?? "policy")} is not a policy pack folder (no PulumiPolicy.yaml in ${policyPack})`,
        );
    if (!raw.yes && (inCi(context.env) || !stdinIsTty)) {
        const why = inCi(context.env) ? "CI is set" : "standard input is not a terminal";
        throw new ArgumentError(
            `nobody can confirm the update here (${why}), and --yes is not given: nothing was planned or created; add --yes to update without asking`,
        );
    }
    const statusPage = path.resolve(context.cwd, raw.statusPage ?? `status-${stack}.html`);
    if (!fs.existsSync(path.dirname(statusPage)) || !fs.statSync(path.dirname(statusPage)).isDirectory())
        throw new ArgumentError(`--status-page: ${JSON.stringify(raw.statusPage)}: its folder ${path.dirname(statusPage)} does not exist`);
    if (fs.existsSync(statusPage) && fs.statSync(statusPage).isDirectory())
        throw new ArgumentError(`--status-page: ${JSON.stringify(raw.statusPage)} is a folder; name the page's file`);
    return { stack, sandbox: raw.sandbox, create: raw.create, yes: raw.yes, policyPack, allowSkipped: raw.allowSkipped, statusPage };
}

/** The command that runs this incident again as it was asked (to resume it), without --create and --yes. */
export function resumeCommand(args: IncidentArgs, projectDir: string, withYes: boolean): string {
    const pack = path.relative(projectDir, args.policyPack);
    return [
        `npm run incident -- --stack ${args.stack}`,
        args.sandbox ? " --sandbox" : "",
        pack === "policy" ? "" : ` --policy-pack ${JSON.stringify(args.policyPack)}`,
        args.allowSkipped ? " --allow-skipped" : "",
        path.basename(args.statusPage) === `status-${args.stack}.html` ? "" : ` --status-page ${JSON.stringify(args.statusPage)}`,
        withYes ? " --yes" : "",
    ].join("");
}
