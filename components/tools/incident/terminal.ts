// The two ways the live view reaches a person: redrawn in place on a terminal (log-update, which
// owns the escape codes), or one line per change in a log (CI), where redrawing makes no sense.
import { createLogUpdate } from "log-update";
import { LiveOutput } from "./live";

/** A stream that may be a terminal. */
export type OutputStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** On a terminal: the block redrawn in place by log-update; a line is written above it and the block drawn again below. */
export function terminalOutput(stream: OutputStream): LiveOutput {
    // The cursor stays visible: hiding it would need a hook on the process's exit and signals
    // (restore-cursor), and this command answers Ctrl-C itself.
    const draw = createLogUpdate(stream, { showCursor: true });
    let last = "";
    return {
        redraws: true,
        block(text) {
            last = text;
            draw(text);
        },
        line(text) {
            draw.clear();
            stream.write(`${text}\n`);
            if (last) draw(last);
        },
        done() {
            draw.done();
            last = "";
        },
    };
}

/** In a log: every line as it comes; blocks are not redrawn (the view's last table is printed as lines at the end). */
export function logOutput(stream: NodeJS.WritableStream): LiveOutput {
    return {
        redraws: false,
        block() {},
        line(text) {
            stream.write(`${text}\n`);
        },
        done() {},
    };
}

/** The live output for `stream`: redrawn on a terminal, lines otherwise. */
export function liveOutput(stream: OutputStream): LiveOutput {
    return stream.isTTY ? terminalOutput(stream) : logOutput(stream);
}
