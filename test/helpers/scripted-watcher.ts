// A stand-in watcher for tests of base.sh's side of the wire protocol: it writes an endpoint to
// the step's watcher folder (BOOTLOOP_WATCH_DIR), as the watcher does, and answers each
// connection with the lines the test scripted for it, one per line received; it keeps every line
// received. A step talking to it never starts a real watcher while it is up.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** A stand-in watcher: the lines each connection sent (the token taken off the first), and its end. */
export interface ScriptedWatcher {
    /** Per connection, in order, the lines the step sent. */
    readonly received: string[][];
    /** Stops listening and closes every connection still open. */
    close(this: void): Promise<void>;
}

/**
 * Serves `answers` from `dir`: connection i gets `answers[i]`, one line per line it sends, and is
 * ended after the last; a connection beyond the script is closed without an answer.
 */
export async function scriptedWatcher(dir: string, answers: readonly (readonly string[])[]): Promise<ScriptedWatcher> {
    const token = randomBytes(24).toString("hex");
    const received: string[][] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => undefined);
        const lines: string[] = [];
        const script = [...(answers[received.length] ?? [])];
        received.push(lines);
        let buffer = "";
        socket.setEncoding("utf8");
        socket.on("data", (d: string) => {
            buffer += d;
            let i: number;
            while ((i = buffer.indexOf("\n")) >= 0) {
                const line = buffer.slice(0, i);
                buffer = buffer.slice(i + 1);
                lines.push(lines.length === 0 && line.startsWith(`${token}\t`) ? line.slice(token.length + 1) : line);
                const answer = script.shift();
                if (answer === undefined) socket.destroy();
                else if (script.length === 0) socket.end(`${answer}\n`);
                else socket.write(`${answer}\n`);
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, "endpoint"), `${(server.address() as net.AddressInfo).port} ${token}\n`, { mode: 0o600 });
    return {
        received,
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}
