/**
 * The line of a CLI's error output that says what went wrong. The last line is often a footer
 * (az: ``To open a new issue, please run `az feedback` ``; gcloud: "to select an already
 * authenticated account to use."), which hides a crash or a missing login behind advice.
 */

/** A Python traceback's start (az, gcloud and aws are Python programs). */
const TRACEBACK = /^Traceback \(most recent call last\):/;
/** The exception line that ends a traceback: `ModuleNotFoundError: No module named …`. */
const EXCEPTION = /^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)(?::|$)/;
/** Lines that state an error, as the CLIs start them. */
const STATES_ERROR = /^(?:ERROR:|An error occurred\b|error:|fatal:)/i;
/** Lines that say nothing about what went wrong: headers, footers, advice, warnings, stack frames. */
const GENERIC = [
    /^ERROR: The command failed with an unexpected error\. Here is the traceback:?$/i,
    /^To check existing issues, please visit\b/i,
    /^To open a new issue, please run\b/i,
    /^Please run:?$/i,
    /^\$ /,
    /^to obtain new credentials\.?$/i,
    /^If you have already logged in with a different account, run:?$/i,
    /^to select an already authenticated account to use\.?$/i,
    /^WARNING:/i,
    /^File "/,
    /^\^+$/,
    TRACEBACK,
];

const generic = (line: string) => GENERIC.some((re) => re.test(line));

/**
 * The line of a CLI's error text that says what went wrong, at most `max` characters: after a
 * Python traceback its exception line (prefixed "the CLI crashed:"); else the first line that
 * states an error (`ERROR:`, `An error occurred`, `error:`); else the first line that is not a
 * generic header, footer, piece of advice or warning; else the last line.
 */
export function errorLine(text: string, max = 300): string {
    const lines = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean);
    const traceback = lines.findIndex((l) => TRACEBACK.test(l));
    let picked: string | undefined;
    if (traceback >= 0) {
        const exception = lines
            .slice(traceback + 1)
            .reverse()
            .find((l) => EXCEPTION.test(l));
        if (exception) picked = `the CLI crashed: ${exception}`;
    }
    picked ??= lines.find((l) => STATES_ERROR.test(l) && !generic(l)) ?? lines.find((l) => !generic(l)) ?? lines[lines.length - 1] ?? "";
    return picked.length > max ? `${picked.slice(0, max - 1)}…` : picked;
}
