// What the commands share to read their arguments: `--flag value`, `--flag=value` and `--switch`,
// each one known, a value never another flag; a bad argument is an ArgumentError, which the
// command layer (command.ts) prints with the command's usage.
import { parseArgs } from "util";
import { didYouMean } from "../../components/core/contract/nearest";
import { ArgumentError } from "../../components/tools/command-contract";

/** The flags a command takes: those with a value, the switches, and what to advise when one is given twice. */
export interface FlagSpec {
    values: readonly string[];
    switches?: readonly string[];
    /** The advice after "--flag is given twice; " (default "give it once"). */
    repeated?: string;
}

/** The flags given: values by flag, and the switches present. */
export interface Flags {
    values: Record<string, string>;
    switches: Set<string>;
}

/** `--help` (or `-h`) was asked for: the command layer prints the usage on stdout, outcome `ok`. */
export class HelpRequested extends Error {
    constructor() {
        super("help requested");
    }
}

/**
 * Reads `argv` against the flags that take a value and the switches, with Node's own parser
 * (`node:util` parseArgs, strict): `--flag value` and `--flag=value`; a value is never another
 * flag (`-` is a value, stdin; `--flag=-x` gives a value that starts with a dash). An unknown
 * flag names the nearest known one; anything else wrong is an {@link ArgumentError}. `--help` or
 * `-h` given as an argument (not as a flag's value) is a {@link HelpRequested}, whatever else is given.
 */
export function readFlags(argv: readonly string[], spec: FlagSpec): Flags {
    if (asksForHelp(argv, spec.values)) throw new HelpRequested();
    const switches = spec.switches ?? [];
    const options: Record<string, { type: "string" | "boolean" }> = {};
    for (const flag of spec.values) options[flag.slice(2)] = { type: "string" };
    for (const flag of switches) options[flag.slice(2)] = { type: "boolean" };
    let parsed: ReturnType<typeof parseArgs>;
    try {
        parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
    } catch (err) {
        throw new ArgumentError(argumentMessage(err as Error & { code?: string }, argv, [...spec.values, ...switches]));
    }
    // A flag given twice would silently keep its last value: refuse it, the way a typo is refused.
    const seen = new Set<string>();
    for (const token of parsed.tokens ?? []) {
        if (token.kind !== "option") continue;
        if (seen.has(token.name)) throw new ArgumentError(`--${token.name} is given twice; ${spec.repeated ?? "give it once"}`);
        seen.add(token.name);
    }
    const flags: Flags = { values: {}, switches: new Set() };
    for (const [name, value] of Object.entries(parsed.values)) {
        const flag = `--${name}`;
        if (typeof value === "boolean") {
            if (value) flags.switches.add(flag);
        } else if (typeof value === "string") {
            if (value === "") throw new ArgumentError(`${flag} needs a value`);
            flags.values[flag] = value;
        }
    }
    return flags;
}

/** Whether `--help` or `-h` stands as an argument of its own (not as the value of a flag, `--out -h`). */
function asksForHelp(argv: readonly string[], valueFlags: readonly string[]): boolean {
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--help" || argv[i] === "-h") return true;
        if (valueFlags.includes(argv[i])) i++;
    }
    return false;
}

/** What parseArgs refused, said the way our commands say it (the flag, and the nearest known one). */
function argumentMessage(err: Error & { code?: string }, argv: readonly string[], known: readonly string[]): string {
    const quoted = /'([^']+)'/.exec(err.message)?.[1];
    switch (err.code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
            const flag = (quoted ?? "").split("=")[0];
            return `unknown argument ${JSON.stringify(flag)}${didYouMean(flag, known)}`;
        }
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
            const flag = /'(--[^' =]+)/.exec(err.message)?.[1] ?? quoted ?? "a flag";
            if (/does not take an argument/.test(err.message)) return `${flag} takes no value`;
            if (/ambiguous/.test(err.message))
                return `${flag} needs a value, and ${JSON.stringify(argv[argv.indexOf(flag) + 1])} is a flag (a value that starts with a dash: ${flag}=VALUE)`;
            return `${flag} needs a value`;
        }
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument ${JSON.stringify(quoted ?? "")}: every argument is a --flag`;
        default:
            return err.message.split("\n")[0];
    }
}
