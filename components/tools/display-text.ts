// Text that came from a guest, a cloud or the engine, made safe to show a person: on a terminal,
// in a chat message, in a Markdown report. Every command prints foreign text through here.

/**
 * Escape sequences a terminal acts on: CSI (`ESC [ … final`, colours, cursor moves, screen
 * clears), OSC (`ESC ] … BEL` or `ESC ] … ESC \`: window titles, clipboard writes, hyperlinks),
 * DCS/SOS/PM/APC strings (`ESC P|X|^|_ … ESC \`), and two-character escapes (`ESC c` resets the
 * terminal). Their 8-bit forms (0x9b CSI, 0x9d OSC, 0x90 DCS, …) are matched too.
 */
const ESCAPE_SEQUENCE =
    // eslint-disable-next-line no-control-regex -- escape sequences start with ESC (and end with BEL): matching them is the point
    /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?/g;

/** Control characters other than tab and newline (BEL, backspace, carriage return, DEL, C1). */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Unicode that reorders or hides text (bidi overrides and isolates, zero-width marks, line separators). */
const INVISIBLE = /[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** The engine's own colour markup (`<{%bold%}>`, `<{%reset%}>`) in diagnostics. */
const ENGINE_COLOUR = /<\{%[^%]{0,40}%\}>/g;

/**
 * Foreign text as a terminal may show it: escape sequences, control characters and invisible
 * reordering characters removed (a newline stays only where `multiline` allows it, else it becomes
 * a space), the engine's colour markup dropped. Nothing the text holds can move the cursor, clear
 * the screen, set the window title, write the clipboard or ring the bell.
 */
export function terminalText(text: string, options: { multiline?: boolean } = {}): string {
    let out = String(text).replace(ENGINE_COLOUR, "").replace(ESCAPE_SEQUENCE, "").replace(INVISIBLE, "");
    out = options.multiline ? out.replace(/\r\n?/g, "\n").replace(CONTROL, "") : out.replace(/[\r\n\t]+/g, " ").replace(CONTROL, "");
    return out;
}

/**
 * Foreign text for a chat message (Slack, Teams, Mattermost, Discord webhooks): terminal-safe,
 * then `&`, `<` and `>` escaped as those services require, so `<!channel>`, `<@U123>`, `<url|text>`
 * and HTML cannot mention, ping or link; a Markdown link `[t](u)` is broken apart, a URL is
 * defanged (`https[:]//…`, as security teams write them), and every `@` before a name becomes a
 * full-width at sign, which no service reads as a mention.
 */
export function chatText(text: string): string {
    return defanged(terminalText(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\]\(/g, "] ("));
}

/** URLs made unclickable (`https[:]//…`, `www[.]…`) and `@name` made no mention (full-width at). */
function defanged(text: string): string {
    return text
        .replace(/\b([a-z][a-z0-9+.-]{1,15}):\/\//gi, "$1[:]//")
        .replace(/\bwww\./gi, "www[.]")
        .replace(/@(?=[\w.-])/g, "\uff20");
}

/**
 * Foreign text for one Markdown table cell or line (reports, PR comments, job summaries):
 * terminal-safe on one line, URLs defanged and mentions broken (GitHub links bare URLs and pings
 * `@name`), and the characters Markdown and HTML act on escaped.
 */
export function markdownText(text: string): string {
    return defanged(terminalText(text)).replace(/[\\`*_{}[\]()#+!|<>~&]/g, (c) =>
        c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : `\\${c}`,
    );
}

/**
 * JSON whose text a terminal cannot act on, with the same value: the characters JSON.stringify
 * leaves raw (DEL, the C1 controls, bidi and zero-width marks, line separators) written as `\u`
 * escapes, so a name from a cloud keeps its value for a pipeline and shows inert on a screen.
 */
export function inertJson(value: unknown, indent?: number): string {
    return JSON.stringify(value, null, indent).replace(
        /[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
}
