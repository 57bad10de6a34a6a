import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Gate } from "../gate/gate";
import { backoffMs } from "../gate/limits";
import { CliError, CloudRunner, Fields } from "../gate/types";
import { Waiter, oneLine } from "./waiter";
import { CloudAction, CloudWatch, StepCall } from "./types";

/**
 * The watcher's wire protocol, one TCP connection on the loopback per request, one line each way,
 * tab-separated: `TOKEN<TAB>VERB<TAB>key=value…`. The token (in a file only the runner's user can
 * read) keeps other local users out.
 *
 *   wait   cloud kind id want asked(epoch s) timeout(s) + scope and parameters
 *          → `ok|timeout<TAB>key=value…` once decided, or `error<TAB>message=…`
 *   call   cloud op attempt deadline(epoch s) + scope [+ command argc a0 a1 …: the CLI call itself]
 *          → `api<TAB>code=0<TAB>queued=S<TAB>out=…` when the cloud makes the call as requests of its
 *            API here (`CloudWatch.action`), or `api<TAB>code=1<TAB>error=…` with `retry=SECONDS`
 *            or `reason=…`; else
 *          → `go` when the call may start; the step then runs its CLI call and sends
 *            `done<TAB>code=N[<TAB>error=…]` → `ok`, `retry<TAB>delay=SECONDS` or `fail`.
 *            Closing the connection gives the place back too.
 *   slot   → `go` when a local helper process (node) may start: it counts against the same bound
 *            as the CLI processes; held until the connection closes
 *   ping   → `pong`
 *
 * No locks: a watcher that restarts cannot know which step holds one, so a lock granted here could
 * be granted twice. Steps lock through the file system (`with_lock` in base.sh), which outlives
 * the watcher; the watcher only bounds and paces, where a restart costs at most a brief excess.
 */
export interface ServerOptions {
    /** The run folder (mode 0700): `endpoint` (port and token), `stats.json`, the lock. */
    dir: string;
    gate: Gate<CloudWatch>;
    waiter: Waiter;
    /** Exit after this long with nothing open (runner ms). */
    idleMs: number;
    /** Cloud seconds per runner second (backoff is in cloud time). */
    timeScale: number;
    /**
     * How many times shorter a wait's timeout is than the step asked (default 1): the sandbox's
     * simulated cloud moves by observations, not by the clock, so only a wait for what never comes
     * (a restart that does not recover the VM) would otherwise take its full cloud time.
     */
    waitScale?: number;
}

export function parseLine(line: string): { token: string; verb: string; fields: Fields } {
    const [token = "", verb = "", ...rest] = line.replace(/\r?\n$/, "").split("\t");
    const fields: Fields = {};
    for (const kv of rest) {
        const i = kv.indexOf("=");
        if (i > 0) fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return { token, verb, fields };
}

/**
 * The step's CLI call as sent with its request (`command`, `argc`, `a0`…), or `undefined` when it
 * sent none (an argument the line cannot carry: the step then runs the CLI itself).
 */
export function stepCall(f: Fields): StepCall | undefined {
    const count = Number(f.argc);
    if (!f.command || !Number.isInteger(count) || count < 0 || count > 200) return undefined;
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
        const a = f[`a${i}`];
        if (a === undefined) return undefined;
        args.push(a);
    }
    return { command: f.command, op: f.op || "unknown", args, fields: f };
}

export function formatLine(head: string, fields: Fields = {}): string {
    return [head, ...Object.entries(fields).map(([k, v]) => `${k}=${oneLine(v)}`)].join("\t") + "\n";
}

/** Starts the watcher's server; resolves once the endpoint file is written. */
export async function serve(opts: ServerOptions): Promise<{ close(): void; port: number }> {
    const token = randomBytes(24).toString("hex");
    let open = 0;
    let idleSince = Date.now();
    const server = net.createServer((socket) => {
        open++;
        socket.setEncoding("utf8");
        let buffer = "";
        let handled = false;
        let onClose: (() => void) | undefined;
        let onLine: ((line: string) => void) | undefined;
        socket.on("data", (chunk: string) => {
            buffer += chunk;
            if (buffer.length > 65536) socket.destroy();
            let i: number;
            while ((i = buffer.indexOf("\n")) >= 0) {
                const line = buffer.slice(0, i);
                buffer = buffer.slice(i + 1);
                if (!handled) {
                    handled = true;
                    const handlers = handle(line, socket);
                    onClose = handlers?.onClose;
                    onLine = handlers?.onLine;
                } else {
                    // A defect in judging one step's report must end that connection (the step
                    // tries again through the watcher), never the watcher every step relies on.
                    try {
                        onLine?.(line);
                    } catch (err) {
                        socket.end(formatLine("error", { message: err instanceof Error ? err.message : String(err) }));
                    }
                }
            }
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
            open--;
            if (open === 0) idleSince = Date.now();
            onClose?.();
        });
    });

    const reply = (socket: net.Socket, text: string) => {
        if (!socket.destroyed) socket.write(text);
    };

    function handle(line: string, socket: net.Socket): { onClose?: () => void; onLine?: (line: string) => void } | undefined {
        const { token: given, verb, fields } = parseLine(line);
        if (given !== token) {
            socket.destroy();
            return undefined;
        }
        try {
            if (verb === "ping") {
                socket.end("pong\n");
                return undefined;
            }
            if (verb === "wait") return handleWait(fields, socket);
            if (verb === "call") return handleCall(fields, socket);
            if (verb === "slot") return handleSlot(socket);
            socket.end(formatLine("error", { message: `unknown verb ${verb}` }));
        } catch (err) {
            socket.end(formatLine("error", { message: err instanceof Error ? err.message : String(err) }));
        }
        return undefined;
    }

    function handleWait(f: Fields, socket: net.Socket) {
        const cloud = opts.gate.cloud(f.cloud);
        if (!cloud.kinds.includes(f.kind)) throw new Error(`${f.cloud} cannot watch ${JSON.stringify(f.kind)}`);
        if (!f.id) throw new Error("a wait needs an id");
        // The deadline counts from when the step first asked (a request sent again after a lost
        // watcher keeps it), in seconds since the epoch; the sandbox shortens it (waitScale).
        const asked = Number(f.asked) * 1000;
        const deadline = asked + (Number(f.timeout) * 1000) / (opts.waitScale ?? 1);
        if (!Number.isFinite(deadline)) throw new Error("a wait needs asked= and timeout=");
        const { answer, cancel } = opts.waiter.wait(f.cloud, {
            kind: f.kind,
            id: f.id,
            want: f.want || "any",
            fields: f,
            received: Date.now(),
            deadline,
            memo: {},
        });
        // The waiter only ever resolves an answer (it has no reject), so there is no rejection to handle here.
        void answer.then((a) => socket.end(formatLine(a.outcome, a.fields)));
        return { onClose: cancel };
    }

    function handleCall(f: Fields, socket: net.Socket) {
        const cloud = opts.gate.cloud(f.cloud);
        const scope = cloud.scopeOf(f);
        const op = f.op || "unknown";
        const call = stepCall(f);
        // Without the step's deadline no action is made: its retries and waits would have no end.
        const action = call && /^\d{1,12}(\.\d+)?$/.test(f.deadline ?? "") ? cloud.action?.(call) : undefined;
        if (action && f.lost === "1" && !action.repeatable) {
            // The watcher the step asked before went away without answering: it may have made the call.
            socket.end(
                formatLine("api", {
                    code: "1",
                    queued: "0",
                    error: `the watcher that was making ${op} went away before answering, so whether the cloud took it is not known; it is not a call to make twice (the step's next run finds the state and goes on)`,
                    reason: "outcome unknown",
                }),
            );
            return undefined;
        }
        if (action) return handleAction(f, scope, op, action, socket);
        let release: (() => void) | undefined;
        let gone = false;
        opts.gate.admit(f.cloud, scope, op).then(
            (r) => {
                if (gone) return r();
                release = r;
                reply(socket, "go\n");
            },
            (err) => socket.end(formatLine("fail", { message: String(err) })),
        );
        return {
            onClose: () => {
                gone = true;
                release?.();
            },
            onLine: (line: string) => {
                release?.();
                release = undefined;
                const done = parseLine(`-\t${line}`).fields;
                if (done.code === "0" || done.code === undefined) {
                    socket.end("ok\n");
                    return;
                }
                const { transient } = opts.gate.settle(f.cloud, scope, op, done.error ?? "");
                // The deadline the step has now (time it queued at the gate moved it), else the one it asked with.
                const next = nextTry(f, transient, Number(done.deadline ?? f.deadline) * 1000);
                socket.end(
                    next.retry !== undefined ? formatLine("retry", { delay: next.retry }) : formatLine("fail", { reason: next.reason! }),
                );
            },
        };
    }

    /**
     * A call the cloud makes as API requests here ({@link CloudAction}): one answer, `api` with
     * `code=0`, the step's `out` and the seconds it `queued` at the scope's buckets; or `code=1`
     * with the `error`, and `retry=SECONDS` when another try may succeed before the step's deadline
     * (throttling, a conflict, a transient error: the step sleeps and asks again, as for the CLI).
     */
    function handleAction(f: Fields, scope: string, op: string, action: CloudAction, socket: net.Socket) {
        let queuedMs = 0;
        // Time a request waited for its scope's rate is the step's queuing at the gate, as a CLI call's wait for `go` is.
        const runner: CloudRunner = {
            run: (c) => opts.gate.run(c),
            api: (c, send) => {
                const asked = Date.now();
                return opts.gate.api(c, () => {
                    queuedMs += Date.now() - asked;
                    return send();
                });
            },
        };
        const deadline = Number(f.deadline) * 1000;
        const queued = () => String(Math.floor(queuedMs / 1000));
        action.run(runner, Number.isFinite(deadline) ? deadline : Date.now() + 3_600_000).then(
            (out) => socket.end(formatLine("api", { code: "0", queued: queued(), out })),
            (err: unknown) => {
                const message = (err instanceof Error ? err.message : String(err)).trim() || `${op} failed`;
                // The step's deadline as it sent it, moved by its queuing in this call.
                const next = nextTry(f, err instanceof CliError && err.transient, deadline + queuedMs);
                socket.end(formatLine("api", { code: "1", queued: queued(), error: message, ...next }));
            },
        );
        return undefined;
    }

    /**
     * After a failed try: another after a jittered backoff (`retry`, seconds) when the error is
     * transient and the try can end before the step's deadline (ms), else the `reason` it ends.
     */
    function nextTry(f: Fields, transient: boolean, deadlineMs: number): { retry?: string; reason?: string } {
        const delayMs = backoffMs(Math.max(1, Number(f.attempt) || 1), 2000, 60_000) / opts.timeScale;
        if (transient && (!Number.isFinite(deadlineMs) || Date.now() + delayMs < deadlineMs)) return { retry: (delayMs / 1000).toFixed(3) };
        return { reason: transient ? "the step's deadline leaves no time for another try" : "permanent error" };
    }

    function handleSlot(socket: net.Socket) {
        let release: (() => void) | undefined;
        let gone = false;
        void opts.gate.processes.acquire().then((r) => {
            if (gone) return r();
            release = r;
            opts.gate.stats.peakProcesses = Math.max(opts.gate.stats.peakProcesses, opts.gate.processes.inUse);
            reply(socket, "go\n");
        });
        return {
            onClose: () => {
                gone = true;
                release?.();
            },
        };
    }

    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const endpoint = path.join(opts.dir, "endpoint");
    const tmp = `${endpoint}.${process.pid}`;
    fs.writeFileSync(tmp, `${port} ${token}\n`, { mode: 0o600 });
    fs.renameSync(tmp, endpoint);
    fs.writeFileSync(path.join(opts.dir, "watcher.pid"), `${process.pid}\n`);
    fs.rmSync(path.join(opts.dir, "starting"), { recursive: true, force: true });

    const statsFile = path.join(opts.dir, "stats.json");
    const writeStats = () => {
        const cpu = process.cpuUsage();
        const stats = {
            ...opts.gate.stats,
            answered: opts.waiter.answered,
            open: opts.waiter.open,
            cpuSeconds: (cpu.user + cpu.system) / 1e6,
            rssMb: process.memoryUsage().rss / 1048576,
        };
        fs.writeFileSync(`${statsFile}.tmp`, JSON.stringify(stats));
        fs.renameSync(`${statsFile}.tmp`, statsFile);
    };
    const close = () => {
        clearInterval(ticker);
        writeStats();
        // Remove the endpoint only if it is still ours (a newer watcher may have replaced it).
        try {
            if (fs.readFileSync(endpoint, "utf8").startsWith(`${port} `)) fs.rmSync(endpoint, { force: true });
        } catch {
            /* gone already */
        }
        server.close();
    };
    const ticker = setInterval(
        () => {
            writeStats();
            if (open === 0 && opts.waiter.open === 0 && Date.now() - idleSince > opts.idleMs) {
                close();
                process.exit(0);
            }
        },
        Math.min(1000, opts.idleMs),
    );
    return { close, port };
}
