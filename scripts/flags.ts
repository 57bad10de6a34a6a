// What the commands share to read their arguments: `--flag value` and `--switch`, each one known,
// a value never another flag; a bad argument exits 2 with the command's usage.

/** A bad argument: its message names it; the command prints it with its usage and exits 2. */
export class ArgumentError extends Error {}

/** A stack name as the stack file `Pulumi.<stack>.yaml` holds it. */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** The flags given: values by flag, and the switches present. */
export interface Flags {
    values: Record<string, string>;
    switches: Set<string>;
}

/**
 * Reads `argv` against the flags that take a value and the switches; anything else, or a value
 * missing (or another flag in its place; `-` is a value, stdin), is an {@link ArgumentError}.
 */
export function readFlags(argv: readonly string[], spec: { values: readonly string[]; switches?: readonly string[] }): Flags {
    const flags: Flags = { values: {}, switches: new Set() };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (spec.switches?.includes(a)) flags.switches.add(a);
        else if (spec.values.includes(a)) {
            const value = argv[i + 1];
            if (value === undefined || value === "" || (value.startsWith("--") && value !== "-")) throw new ArgumentError(`${a} needs a value`);
            flags.values[a] = value;
            i++;
        } else throw new ArgumentError(`unknown argument ${JSON.stringify(a)}`);
    }
    return flags;
}

/** A flag's value checked as a stack name. */
export function stackName(flag: string, value: string): string {
    if (!STACK_NAME.test(value)) throw new ArgumentError(`${flag}: ${JSON.stringify(value)} is not a stack name`);
    return value;
}
