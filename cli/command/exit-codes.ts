// The one exit-code table of the npm commands, as data: each code with its name and meaning, and
// per command the codes it uses and what each means for it. docs/reference.md "Exit codes of the
// commands" is this table for people (test/cli/exit-codes.test.ts holds the two together). Tools
// speak outcomes by name (components/tools/command-contract.ts); only this file gives them numbers.
import { SIGNAL_EXIT_BASE, type Outcome } from "../../components/tools/command-contract";

/** Every exit code a command may end with (apart from a signal's), by outcome. */
export const EXIT_CODES = {
    ok: { code: 0, meaning: "everything the command promises was done and verified" },
    failed: {
        code: 1,
        meaning: "invalid input (each problem named by file, entry and field) or, for the commands that act, something they did failed",
    },
    badArguments: { code: 2, meaning: "bad arguments or input of the wrong kind" },
    checkFailed: { code: 3, meaning: "a check failed, or the thing watched ended early" },
    notChecked: { code: 4, meaning: "a check could not be made" },
} as const satisfies Record<Outcome, { code: number; meaning: string }>;

/** An exit code of the table. */
export type ExitCode = (typeof EXIT_CODES)[Outcome]["code"];

/** The exit code of an outcome: `EXIT.ok` is 0, `EXIT.checkFailed` 3. */
export const EXIT = Object.fromEntries(Object.entries(EXIT_CODES).map(([name, c]) => [name, c.code])) as {
    readonly [O in Outcome]: (typeof EXIT_CODES)[O]["code"];
};

export { SIGNAL_EXIT_BASE };

/** One command's exits. */
export interface CommandExits {
    /** What runs it: the cli/ file (or, for engine:build, the script; the table describes it, the script keeps it). */
    file: string;
    /** The codes it uses, by outcome, with what each means for this command. */
    codes: Partial<Record<Outcome, string>>;
    /** What an invalid input (InputError: problems named by file, entry and field) ends with; else as {@link unexpected}. */
    invalidInput?: Outcome;
    /** What an error no tool named ends with (a CLI that failed, a cloud's error, a defect); else `failed`. */
    unexpected?: Outcome;
    /** The signals that stop it after cleaning up, each exiting {@link SIGNAL_EXIT_BASE} + its number. */
    signals?: readonly NodeJS.Signals[];
}

/** Per command (npm script name): the codes it uses and what each means for it. */
export const COMMAND_EXITS = {
    plan: {
        file: "cli/plan.ts",
        codes: {
            ok: "planned; with --preflight, every check made and none failed",
            failed: "invalid inventory or stack config",
            badArguments: "bad arguments",
            checkFailed: "a preflight check failed",
            notChecked: "a preflight check could not be made (without --allow-skipped)",
        },
        invalidInput: "failed",
        unexpected: "failed",
    },
    discover: {
        file: "cli/discover.ts",
        codes: {
            ok: "every scope of every cloud named was scanned",
            failed: "bad input (the Falcon export)",
            badArguments: "bad option, or a named scope the login cannot reach",
            checkFailed: "a cloud error, or a login that reaches no scope",
        },
        invalidInput: "failed",
        unexpected: "checkFailed",
    },
    shard: {
        file: "cli/shard.ts",
        codes: {
            ok: "shards written",
            failed: "invalid inventory or stack config, or a file it did not write in the way",
            badArguments: "bad arguments",
        },
        invalidInput: "failed",
        unexpected: "badArguments",
    },
    "import-keys": {
        file: "cli/import-keys.ts",
        codes: {
            ok: "every VM's keys stored (or, --dry-run, would be)",
            failed: "invalid input, or some VM's keys not stored (each VM's outcome listed)",
            badArguments: "bad arguments",
        },
        invalidInput: "failed",
        unexpected: "failed",
        signals: ["SIGINT", "SIGTERM", "SIGHUP"],
    },
    watch: {
        file: "cli/watch.ts",
        codes: {
            ok: "the update succeeded and every VM of the plan verified",
            failed: "the update ended otherwise",
            badArguments: "bad arguments, an invalid inventory or stack file, or events that are not this stack's --json events",
            checkFailed: "the events ended, or went quiet, before the update did",
        },
        invalidInput: "badArguments",
        unexpected: "checkFailed",
    },
    report: {
        file: "cli/report.ts",
        codes: {
            ok: "the report was written",
            failed: "the Pulumi CLI failed",
            badArguments: "bad arguments, or a file that is not stack outputs, the vms output or a stack export",
        },
        unexpected: "failed",
    },
    evidence: {
        file: "cli/evidence.ts",
        codes: {
            ok: "every document printed matched its record's SHA-256",
            failed: "a document missing, secret or not matching; or the Pulumi CLI failed",
            badArguments: "bad arguments, a VM the stack lacks, or a file that is not a stack export",
        },
        unexpected: "failed",
    },
    "ci:stacks": {
        file: "cli/ci-stacks.ts",
        codes: {
            ok: "stacks printed (and written with --github-output)",
            failed: "an invalid stack file or shard manifest, or GITHUB_OUTPUT unset",
            badArguments: "bad arguments, or a failed git diff",
        },
        invalidInput: "failed",
        unexpected: "badArguments",
    },
    "ci:comment": {
        file: "cli/ci-comment.ts",
        codes: {
            ok: "the comment printed or posted",
            badArguments: "bad arguments, an unreadable file, not a pull request, or --outcome success for a preview that wrote nothing",
            checkFailed: "posting to GitHub failed",
        },
        unexpected: "checkFailed",
    },
    incident: {
        file: "cli/incident.ts",
        codes: {
            ok: "the update succeeded, every VM of the plan verified, and the report was printed",
            failed: "invalid inventory or stack config, or the update failed or ended with VMs not verified",
            badArguments:
                "bad arguments, a stack the backend lacks without --create, or no --yes where nobody can confirm (CI, no terminal)",
            checkFailed: "a preflight check failed, the policy pack refused the preview, or the update was not confirmed",
            notChecked: "a preflight check could not be made (without --allow-skipped)",
        },
        invalidInput: "failed",
        unexpected: "failed",
        signals: ["SIGINT"],
    },
    "engine:build": {
        file: "scripts/engine/build.sh",
        codes: {
            ok: "the engine is ready (all three parts)",
            failed: "a part is missing or could not be built",
            badArguments: "bad arguments",
        },
    },
} as const satisfies Record<string, CommandExits>;

/** A command of the table, by its npm script name. */
export type CommandName = keyof typeof COMMAND_EXITS;

/** The outcomes a command may end with. */
export type OutcomeOf<C extends CommandName> = keyof (typeof COMMAND_EXITS)[C]["codes"] & Outcome;
