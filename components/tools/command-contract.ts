// What a tool behind an npm command and the command layer (cli/command/) say to each other. A
// tool returns an outcome by name, or throws one of the errors below; the command layer alone
// turns that into an exit code (cli/command/exit-codes.ts), prints errors and the usage. Tools
// never import from cli/.

/**
 * How a command ended, by name; cli/command/exit-codes.ts gives each its number:
 * `ok` everything the command promises was done and verified; `failed` invalid input or, for the
 * commands that act, something they did failed; `badArguments` bad arguments or input of the
 * wrong kind; `checkFailed` a check failed, or the thing watched ended early; `notChecked` a check
 * could not be made.
 */
export type Outcome = "ok" | "failed" | "badArguments" | "checkFailed" | "notChecked";

/** A bad argument (a flag's value, flags that do not go together): printed with the command's usage, outcome `badArguments`. */
export class ArgumentError extends Error {}

/**
 * The command ends with `outcome`, the message saying why (printed after the command's name,
 * without the usage): for a tool whose failure means something particular to its command.
 */
export class CommandError extends Error {
    constructor(
        readonly outcome: Outcome,
        message: string,
    ) {
        super(message);
    }
}

/**
 * The one stack-name pattern, as text: a stack as its file `Pulumi.<stack>.yaml` and `pulumi --stack`
 * name it (letters, digits, `_`, `.`, `-`; at most 100). Every other stack-name check is built from it.
 */
export const STACK_NAME_TEXT = "[A-Za-z0-9_.-]{1,100}";

/** A stack name. */
export const STACK_NAME = new RegExp(`^${STACK_NAME_TEXT}$`);

/** A stack name as `pulumi --stack` also takes it for a stack of another project or organisation: `[org/[project/]]stack`. */
export const QUALIFIED_STACK_NAME = new RegExp(`^(?:${STACK_NAME_TEXT}/){0,2}${STACK_NAME_TEXT}$`);

/** A flag's value checked as a stack name. */
export function stackName(flag: string, value: string): string {
    if (!STACK_NAME.test(value)) throw new ArgumentError(`${flag}: ${JSON.stringify(value)} is not a stack name`);
    return value;
}

/** Where a command runs: its folders, environment and streams, given to the tool (never read from `process` by it). */
export interface CommandContext {
    /** The folder the command was started in (npm's INIT_CWD): relative paths a person typed start here. */
    cwd: string;
    /** This project's folder: Pulumi.yaml, stacks/, the Pulumi CLI's working folder. */
    projectDir: string;
    /** The folder with the stack files: BOOTLOOP_STACK_DIR when set (the tests' projects), else `projectDir`. */
    stackDir: string;
    env: Readonly<Record<string, string | undefined>>;
    stdin: NodeJS.ReadableStream;
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream;
}

/** A process a signal stopped exits with this plus the signal's number, as a shell reports it (SIGINT 130, SIGTERM 143, SIGHUP 129). */
export const SIGNAL_EXIT_BASE = 128;
