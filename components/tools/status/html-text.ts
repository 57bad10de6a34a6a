// Foreign text made inert for an HTML page: as element text or attribute value, and as JSON inside
// a <script> element (where `</script>`, `<!--` and U+2028/2029 must not end or change it).

/** Text for HTML element content or a quoted attribute value: `& < > " '` as entities. */
export function htmlText(text: string | number): string {
    return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` written as `\u` escapes
 * (no `</script>` or `<!--` can appear), and U+2028/2029 too (old parsers end a line there). The
 * value parses back unchanged.
 */
export function scriptJson(value: unknown): string {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
