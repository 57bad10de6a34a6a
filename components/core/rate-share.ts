// The stack's share of each cloud scope's published request budget (`rateShare`): how it is
// written, and how it reaches every script of the stack, whose watcher spends that share.

/** The environment variable every script of the stack finds the share in (base.sh, cli/watcher.ts). */
export const RATE_SHARE_VAR = "BOOTLOOP_RATE_SHARE";

/**
 * A share written as a decimal (`0.25`) or a fraction (`1/4`), as a number from 0 (excluded) to 1;
 * undefined when the text is neither, or out of range. Spaces around the numbers are allowed.
 */
export function parseRateShare(text: string): number | undefined {
    const t = text.trim();
    const decimal = /^(\d{1,6}(\.\d{1,17})?|\.\d{1,17})$/;
    let value: number;
    const fraction = /^(\d{1,6})\s*\/\s*(\d{1,6})$/.exec(t);
    if (fraction) value = Number(fraction[2]) === 0 ? NaN : Number(fraction[1]) / Number(fraction[2]);
    else if (decimal.test(t)) value = Number(t);
    else return undefined;
    return Number.isFinite(value) && value > 0 && value <= 1 ? value : undefined;
}

/**
 * A share as the environment carries it: the shortest decimal that reads back as the same number
 * (`0.1`, `0.3333333333333333`), so every script of the stack, and so base.sh's watcher identity,
 * sees the same text for the same share.
 */
export function rateShareText(share: number): string {
    return String(share);
}

/** A share as people read it: `1/10 (0.1)` for a unit fraction, else the decimal; `1` for the whole budget. */
export function describeRateShare(share: number): string {
    if (share === 1) return "1";
    const n = Math.round(1 / share);
    return Math.abs(1 / n - share) < 1e-12 ? `1/${n} (${rateShareText(share)})` : rateShareText(share);
}

let scriptEnvironment: Readonly<Record<string, string>> = {};

/**
 * What every script the stack runs outside a command resource (lookups the program or an invoke
 * runs) gets in its environment beyond its own: the share, when it is not 1. Set by the program
 * once the settings are read ({@link setStackScriptEnvironment}); commands get the same through the
 * root component's transformation (program.ts).
 */
export function stackScriptEnvironment(): Readonly<Record<string, string>> {
    return scriptEnvironment;
}

/** The environment the stack's scripts get for `share`: `BOOTLOOP_RATE_SHARE` when it is not 1, else nothing. */
export function rateShareEnvironment(share: number): Record<string, string> {
    return share === 1 ? {} : { [RATE_SHARE_VAR]: rateShareText(share) };
}

/** Makes {@link stackScriptEnvironment} answer for this stack's share (the program calls it before any lookup). */
export function setStackScriptEnvironment(share: number): void {
    scriptEnvironment = rateShareEnvironment(share);
}
