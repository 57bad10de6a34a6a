/**
 * A BitLocker recovery password in its usual form (8 groups of 6 digits joined by hyphens), or
 * undefined when the text is not one: 48 digits (hyphens and spaces between groups optional),
 * each group divisible by 11 and below 720,896 (BitLocker's own check, which catches typos).
 */
export function recoveryPassword(text: string): string | undefined {
    const digits = text.replace(/[-\s]/g, "");
    if (!/^\d{48}$/.test(digits)) return undefined;
    const groups = digits.match(/\d{6}/g)!;
    if (groups.some((g) => Number(g) % 11 !== 0 || Number(g) >= 720_896)) return undefined;
    return groups.join("-");
}

/** A recovery key id: a GUID (braces optional) or its first 8 hex digits, as exports show it; lowercase, without braces. */
export function keyId(text: string): string | undefined {
    const m = /^\{?([0-9a-f]{8}(?:-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?)\}?$/i.exec(text.trim());
    return m ? m[1].toLowerCase() : undefined;
}
