import * as http from "http";
import { CliError, CloudRunner, NoObservationError } from "../../components/gate/types";
import { CloudWatch } from "../../components/watcher/types";

/** One request the local server saw. */
export interface Seen {
    /** GET, POST… */
    method?: string;
    path: string;
    query: URLSearchParams;
    authorization?: string;
    /** The request's body (a POST's JSON), as sent. */
    body?: string;
}

/** What the local server answers: status, body (JSON-encoded unless a string) and headers. */
export interface Answer {
    status?: number;
    body?: unknown;
    headers?: Record<string, string>;
    /** Drop the connection instead of answering (the client sees a network error). */
    drop?: boolean;
}

/**
 * A local HTTP server standing for Compute Engine's REST endpoint: `answer` decides each reply
 * (a test sets it); every request is kept in `seen`. `endpoint` is what the client is pointed at.
 */
export async function computeServer(): Promise<{
    endpoint: string;
    seen: Seen[];
    answer: (req: Seen) => Answer | undefined;
    setAnswer(fn: (req: Seen) => Answer | undefined): void;
    close(): Promise<void>;
}> {
    const state = {
        seen: [] as Seen[],
        answer: ((): Answer | undefined => ({ status: 500, body: "no answer set" })) as (req: Seen) => Answer | undefined,
    };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (d: Buffer) => chunks.push(d));
        req.on("end", () => {
            const url = new URL(req.url ?? "/", "http://local");
            const seen: Seen = {
                method: req.method,
                path: url.pathname,
                query: url.searchParams,
                authorization: req.headers.authorization,
                body: Buffer.concat(chunks).toString("utf8"),
            };
            state.seen.push(seen);
            const a = state.answer(seen);
            if (a === undefined) return; // never answers: the client's timeout must end it
            if (a.drop) {
                req.socket.destroy();
                return;
            }
            const body = typeof a.body === "string" ? a.body : JSON.stringify(a.body ?? {});
            res.writeHead(a.status ?? 200, { "content-type": "application/json; charset=UTF-8", ...(a.headers ?? {}) });
            res.end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return {
        endpoint: `http://127.0.0.1:${port}/compute/v1/`,
        seen: state.seen,
        get answer() {
            return state.answer;
        },
        setAnswer(fn) {
            state.answer = fn;
        },
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** gcloud's `config config-helper --format=json` output (as gcloud 528 prints it) with a token expiring at `expiry`. */
export function configHelper(token: string, expiry: Date | string | null): string {
    // null: what gcloud prints for a credential without an expiry (an access-token file).
    const at = expiry instanceof Date ? expiry.toISOString().replace(/\.\d{3}Z$/, "Z") : expiry;
    return JSON.stringify({
        configuration: { active_configuration: "default", properties: { core: { account: "ops@example.com" } } },
        credential: { access_token: token, id_token: null, token_expiry: at },
        sentinels: { config_sentinel: "/home/ops/.config/gcloud/config_sentinel" },
    });
}

/**
 * A runner as the gate is for these tests: `run` answers only gcloud's token call (with `tokens`,
 * one per call, the last repeated), `api` runs `send` and turns a rejection into a CliError the
 * way the gate does (the cloud's own transient rule on the message). Both log their ops.
 */
export function fakeRunner(
    cloud: CloudWatch,
    tokens: string[] = ["ya29.first"],
): CloudRunner & { ops: string[]; runs: string[][]; throttled: number } {
    let n = 0;
    const me = {
        ops: [] as string[],
        runs: [] as string[][],
        throttled: 0,
        run(call: Parameters<CloudRunner["run"]>[0]) {
            me.ops.push(call.op);
            me.runs.push([call.command, ...call.args]);
            if (call.command === "gcloud" && call.args[0] === "config" && call.args[1] === "config-helper")
                return Promise.resolve(configHelper(tokens[Math.min(n++, tokens.length - 1)], new Date(Date.now() + 3600_000)));
            return Promise.reject(new CliError(`unexpected CLI call ${call.command} ${call.args.join(" ")}`, false));
        },
        async api<T>(call: { op: string }, send: () => Promise<T>): Promise<T> {
            me.ops.push(call.op);
            try {
                return await send();
            } catch (err) {
                // As the gate: a failure that is no instance's (TLS, no token) passes as it is.
                if (err instanceof NoObservationError) throw err;
                const message = err instanceof Error ? err.message : String(err);
                if (cloud.throttling(message)) me.throttled++;
                throw new CliError(message, cloud.transient(message));
            }
        },
    };
    return me;
}

/** Compute Engine's 404 with an empty body: what the local server answers a path a test did not expect. */
export const NOT_FOUND: Answer = { status: 404, body: {} };

/**
 * Compute Engine's answer of an operation (an insert's, a wait's): `name` in `status`, and, for
 * one that ended in an error, the HTTP status it gives (`httpErrorStatusCode`), its code and message.
 */
export function operation(name: string, status: string, error?: { http: number; code: string; message: string }): Answer {
    return {
        body: {
            name,
            status,
            ...(error && { httpErrorStatusCode: error.http, error: { errors: [{ code: error.code, message: error.message }] } }),
        },
    };
}
