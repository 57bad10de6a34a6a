// Splits a stream of JSON values into whole values, however it is cut into chunks: `pulumi up
// --json` prints its engine events one after another (indented over many lines), and an event log
// (`--event-log`) one per line. Text between values (a warning the CLI printed) is skipped.

/** Refuse one value larger than this (characters): a stream that never closes a brace is not an event. */
export const MAX_VALUE_CHARS = 64 * 1024 * 1024;

/** Feeds chunks in, hands whole top-level JSON objects out, parsed. */
export class JsonObjectStream {
    private buffer = "";
    private depth = 0;
    private inString = false;
    private escaped = false;
    /** Where the object being read starts in `buffer`, or -1 between objects. */
    private start = -1;
    /** How far `buffer` has been scanned. */
    private scanned = 0;

    constructor(
        private readonly onValue: (value: unknown) => void,
        private readonly onSkipped: (text: string) => void = () => {},
    ) {}

    /** Scans a chunk; calls `onValue` for every object it completes. */
    push(chunk: string): void {
        this.buffer += chunk;
        for (let i = this.scanned; i < this.buffer.length; i++) {
            const c = this.buffer[i];
            if (this.start < 0) {
                if (c === "{") {
                    const skipped = this.buffer.slice(0, i).trim();
                    if (skipped) this.onSkipped(skipped);
                    this.start = i;
                    this.depth = 1;
                }
                continue;
            }
            if (this.inString) {
                if (this.escaped) this.escaped = false;
                else if (c === "\\") this.escaped = true;
                else if (c === '"') this.inString = false;
            } else if (c === '"') this.inString = true;
            else if (c === "{" || c === "[") this.depth++;
            else if (c === "}" || c === "]") {
                this.depth--;
                if (this.depth === 0) {
                    const text = this.buffer.slice(this.start, i + 1);
                    this.buffer = this.buffer.slice(i + 1);
                    this.start = -1;
                    i = -1;
                    this.emit(text);
                }
            }
        }
        this.scanned = this.buffer.length;
        if (this.start < 0 && this.buffer.length > 4096) {
            // Text outside any object: keep only its last line (it may be the start of one).
            const cut = this.buffer.lastIndexOf("\n");
            if (cut >= 0) {
                const skipped = this.buffer.slice(0, cut).trim();
                if (skipped) this.onSkipped(skipped);
                this.buffer = this.buffer.slice(cut + 1);
                this.scanned = this.buffer.length;
            }
        }
        if (this.buffer.length > MAX_VALUE_CHARS)
            throw new Error(`an engine event longer than ${MAX_VALUE_CHARS} characters: not an event stream`);
    }

    /** Reports what is left at the end of the stream (an object cut off). */
    end(): void {
        const rest = this.buffer.trim();
        if (rest) this.onSkipped(rest);
        this.buffer = "";
        this.start = -1;
        this.scanned = 0;
    }

    private emit(text: string): void {
        let value: unknown;
        try {
            value = JSON.parse(text);
        } catch {
            this.onSkipped(text);
            return;
        }
        this.onValue(value);
    }
}
