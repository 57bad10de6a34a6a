/**
 * One thing wrong with the input, located as precisely as we know: the file, the entry (index and
 * line) and the VM it describes, and the field.
 */
export interface Problem {
    /** The file the problem is in, as the user named it (inventory file or stack config file). */
    file: string;
    /** Zero-based index of the entry under `vms:` (or data row of a CSV file), when the problem is in one. */
    entry?: number;
    /** One-based line of the entry or field in the file, when known. */
    line?: number;
    /** Human label of the VM the entry describes, when enough of it is valid to say. */
    vm?: string;
    /** The field (or config key) at fault. */
    field?: string;
    /** What is wrong and what is expected. */
    message: string;
}

/** Renders one problem as a single line: `file: vms[3] (line 14, aws us-east-1/i-0abc): field: message`. */
export function formatProblem(p: Problem): string {
    const where: string[] = [];
    if (p.line !== undefined) where.push(`line ${p.line}`);
    if (p.vm) where.push(p.vm);
    let head = p.file;
    if (p.entry !== undefined) head += `: vms[${p.entry}]`;
    if (where.length > 0) head += ` (${where.join(", ")})`;
    return `${head}: ${p.field ? `${p.field}: ` : ""}${p.message}`;
}

/**
 * Every problem found in the input, reported together. Thrown before any resource is declared, so
 * `pulumi up` stops before it touches a cloud.
 */
export class InputError extends Error {
    constructor(readonly problems: Problem[]) {
        super(
            `${problems.length} problem${problems.length === 1 ? "" : "s"} in the input; nothing was declared:\n` +
                problems.map((p) => `  - ${formatProblem(p)}`).join("\n"),
        );
        this.name = "InputError";
    }
}

/** Shows a user-supplied value safely in a message: quoted, control characters escaped, long values cut. */
export function show(value: unknown): string {
    if (typeof value !== "string") return (JSON.stringify(value) ?? String(value)).slice(0, 80);
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
