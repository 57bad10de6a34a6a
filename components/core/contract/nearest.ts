/**
 * The known name closest to a misspelt one, for "did you mean" hints: letter case ignored, a
 * swap of two neighbouring letters counts as one edit, and only close names are offered (at most
 * 3 edits, and fewer than half the name's length), so a hint is never a wild guess.
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
    const wanted = name.toLowerCase();
    let best: { name: string; distance: number } | undefined;
    for (const candidate of known) {
        const distance = editDistance(wanted, candidate.toLowerCase());
        if (distance <= 3 && distance * 2 < Math.max(wanted.length, 2) && (!best || distance < best.distance))
            best = { name: candidate, distance };
    }
    return best?.name;
}

/** ` (did you mean NAME?)` for the nearest known name, or nothing. */
export function didYouMean(name: string, known: Iterable<string>): string {
    const near = nearestName(name, known);
    return near === undefined ? "" : ` (did you mean ${near}?)`;
}

/** Edits (insert, delete, substitute, swap neighbours) that turn `a` into `b` (optimal string alignment). */
function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}
