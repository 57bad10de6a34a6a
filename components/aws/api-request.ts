/**
 * One request of an AWS SDK client, bounded and with an error the watcher can classify: at most
 * {@link REQUEST_TIMEOUT_MS} from start to parsed answer, an answer of at most
 * {@link MAX_RESPONSE_BYTES}, and a failure as `Code (HTTP status): message`.
 */
import { Readable, Transform } from "stream";
import type { DeserializeMiddleware, MiddlewareStack } from "@smithy/types";
import { tlsFailure } from "../gate/tls";

/** The most bytes an answer may have: 100 instances described are well under 1 MiB, a console 64 KiB. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** The longest a request may take, from sending to its parsed answer. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The longest message kept of an error (the service's own text may be long). */
const MAX_MESSAGE = 600;

/** Network errors that mean the endpoint was not reached, or the connection dropped: worth another try. */
const UNREACHED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);
const DROPPED = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * Runs one SDK request (`run`, given the signal that aborts it) and settles within
 * {@link REQUEST_TIMEOUT_MS}; a failure becomes an Error whose message names the error code and
 * the HTTP status ({@link errorMessage}).
 */
export async function callOf<T>(operation: string, run: (signal: AbortSignal) => Promise<T>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    const abort = new AbortController();
    const late = new Error(`RequestTimeout: ${operation} had no answer within ${timeoutMs / 1000} s`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            reject(late);
            abort.abort();
        }, timeoutMs);
    });
    try {
        return await Promise.race([run(abort.signal), timeout]);
    } catch (err) {
        if (err === late) throw late;
        const tls = tlsFailure(err, operation);
        if (tls) throw tls;
        throw new Error(errorMessage(operation, err), { cause: err });
    } finally {
        clearTimeout(timer);
    }
}

/**
 * An SDK error in the words components/aws/watch.ts classifies: `RequestLimitExceeded (HTTP 503):
 * Request limit exceeded.` for an answer of the service (its error code is the SDK error's name),
 * `Could not connect to the endpoint (ECONNREFUSED): …` or `Connection was closed (ECONNRESET): …`
 * when there was none, `RequestTimeout: …` when it came too late.
 */
export function errorMessage(operation: string, err: unknown): string {
    if (!(err instanceof Error)) return `${operation} failed: ${String(err)}`.slice(0, MAX_MESSAGE);
    const e = err as Error & { $metadata?: { httpStatusCode?: number }; code?: string; Code?: string };
    const text = e.message.replace(/\s+/g, " ").trim();
    const status = e.$metadata?.httpStatusCode;
    let message: string;
    if (typeof e.code === "string" && UNREACHED.has(e.code))
        message = `Could not connect to the endpoint (${e.code}) for ${operation}: ${text}`;
    else if (typeof e.code === "string" && DROPPED.has(e.code)) message = `Connection was closed (${e.code}) during ${operation}: ${text}`;
    else if (e.name === "TimeoutError") message = `RequestTimeout: ${operation}: ${text}`;
    else if (status !== undefined) message = `${e.Code ?? e.name} (HTTP ${status}): ${text}`;
    else message = `${e.name}: ${operation}: ${text}`;
    return message.slice(0, MAX_MESSAGE);
}

/**
 * Bounds every answer a client receives to `max` bytes before the SDK reads it: a larger
 * Content-Length fails at once, a longer body fails when it passes the bound. The middleware sits
 * closest to the HTTP handler (deserialize step, low priority), so it sees the raw response.
 */
export function boundBodies<I extends object, O extends object>(stack: MiddlewareStack<I, O>, max: number): void {
    const bound: DeserializeMiddleware<I, O> = (next) => async (args) => {
        const result = await next(args);
        const response = result.response as { headers?: Record<string, string>; body?: unknown };
        const length = Number(response.headers?.["content-length"]);
        if (Number.isFinite(length) && length > max) {
            if (response.body instanceof Readable) response.body.destroy();
            throw tooLarge(max, `${length} bytes`);
        }
        if (response.body instanceof Readable) response.body = limited(response.body, max);
        return result;
    };
    stack.add(bound, { step: "deserialize", name: "bootloopResponseBound", priority: "low" });
}

function tooLarge(max: number, what: string): Error {
    const err = new Error(`the answer (${what}) is larger than the ${max} bytes the watcher reads`);
    err.name = "ResponseTooLarge";
    return err;
}

/** `body`, ending in an error once more than `max` bytes passed. */
function limited(body: Readable, max: number): Readable {
    let seen = 0;
    const out = new Transform({
        transform(chunk: Buffer, _encoding, done) {
            seen += chunk.length;
            if (seen > max) {
                body.destroy();
                done(tooLarge(max, `more than ${max} bytes`));
                return;
            }
            done(null, chunk);
        },
    });
    body.on("error", (err) => out.destroy(err));
    return body.pipe(out);
}
