// One way to declare an npm command: its name (a row of the exit-code table), usage and flags, and
// `run`, which converts the flags into its tool's arguments and calls the tool. This layer reads
// the arguments (flags.ts), answers --help, prints every error (terminal-safe: messages may quote
// a cloud, a guest or the engine) and ends the process with the table's code for the outcome.
import * as path from "path";
import { InputError } from "../../components/core/contract/problems";
import { ArgumentError, CommandContext, CommandError, Outcome } from "../../components/tools/command-contract";
import { terminalText } from "../../components/tools/display-text";
import { COMMAND_EXITS, CommandExits, CommandName, EXIT, ExitCode, OutcomeOf } from "./exit-codes";
import { disableStackTraces } from "./fast-stacks";
import { FlagSpec, Flags, HelpRequested, readFlags } from "./flags";

/** A command of the table that runs a cli/ file (engine:build is a script of its own). */
export type CliCommandName = Exclude<CommandName, "engine:build">;

/** An npm command, declared. */
export interface Command<C extends CliCommandName> {
    /** Its npm script name, as the exit-code table knows it. */
    name: C;
    /** `usage: npm run NAME -- …`, printed for --help (stdout) and after a bad argument (stderr). */
    usage: string;
    flags: FlagSpec;
    /** Converts the flags into the tool's arguments and calls it; resolves to how the command ended. */
    run(flags: Flags, context: CommandContext): OutcomeOf<C> | Promise<OutcomeOf<C>>;
}

/** This project's folder. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The context of this process: where npm was started (INIT_CWD), the project, the stack files (BOOTLOOP_STACK_DIR), its streams. */
export function processContext(env: NodeJS.ProcessEnv = process.env): CommandContext {
    return {
        cwd: env.INIT_CWD ?? process.cwd(),
        projectDir: PROJECT_DIR,
        stackDir: env.BOOTLOOP_STACK_DIR || PROJECT_DIR,
        env,
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
    };
}

/**
 * Runs a command in this process and sets its exit code: `process.exitCode`, never `exit()`, so
 * that a large output on a pipe (`--json | jq`) is written out before the process ends.
 */
export async function runCommand<C extends CliCommandName>(
    command: Command<C>,
    argv: readonly string[] = process.argv.slice(2),
    context: CommandContext = processContext(),
): Promise<ExitCode> {
    disableStackTraces();
    const code = EXIT[await commandOutcome(command, argv, context)];
    process.exitCode = code;
    return code;
}

/**
 * How a command ends on `argv`, everything it says written to the context's streams:
 * - `--help` (or `-h`): the usage on stdout, `ok`;
 * - an {@link ArgumentError} (a bad flag, from the parser or the tool): `npm run NAME: why` and the usage on stderr, `badArguments`;
 * - a {@link CommandError}: `npm run NAME: why` on stderr, its outcome (if the command's row lists it, else `unexpected`);
 * - an {@link InputError}: its problems on stderr, the command's `invalidInput` outcome (the table);
 * - any other error: `npm run NAME: message` on stderr, the command's `unexpected` outcome (the table).
 */
export async function commandOutcome<C extends CliCommandName>(
    command: Command<C>,
    argv: readonly string[],
    context: CommandContext,
): Promise<Outcome> {
    const exits: CommandExits = COMMAND_EXITS[command.name];
    const unexpected = exits.unexpected ?? "failed";
    const say = (text: string) => void context.stderr.write(`${terminalText(text, { multiline: true })}\n`);
    try {
        return await command.run(readFlags(argv, command.flags), context);
    } catch (err) {
        if (err instanceof HelpRequested) {
            context.stdout.write(`${command.usage}\n`);
            return "ok";
        }
        if (err instanceof ArgumentError) {
            say(`npm run ${command.name}: ${err.message}`);
            context.stderr.write(`${command.usage}\n`);
            return "badArguments";
        }
        if (err instanceof CommandError) {
            say(`npm run ${command.name}: ${err.message}`);
            // Only an outcome the command's row of the table lists; any other is a defect, ended as one.
            return err.outcome in exits.codes ? err.outcome : unexpected;
        }
        if (err instanceof InputError) {
            say(err.message);
            return exits.invalidInput ?? unexpected;
        }
        say(`npm run ${command.name}: ${err instanceof Error ? err.message : String(err)}`);
        return unexpected;
    }
}
