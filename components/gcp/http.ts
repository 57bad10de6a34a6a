// One request of Compute Engine's REST API (a GET, or a POST with a JSON body), bounded, and its error in words the watcher classifies.
import { tlsFailure } from "../gate/tls";

/** A request Compute Engine refused: the message names the status, Google's status and reason (watch.ts classifies it). */
export class ComputeApiError extends Error {
    constructor(
        message: string,
        /** The HTTP status; 0 when no answer came. */
        readonly status: number,
    ) {
        super(message);
    }
}

/** How one request is bounded, and what it is called in errors. */
export interface GetOptions {
    /** The request and its answer's body, together (ms). */
    timeoutMs: number;
    /** The largest answer read (bytes). */
    maxBytes: number;
    /** The method and resource, for messages (`instances.list my-project/zones/z/instances`). */
    what: string;
    /** A 404 is an empty object (guest attributes not published yet), not an error. */
    notFoundIsEmpty?: boolean;
}

/**
 * Sends one GET with the bearer token (only in the Authorization header; no redirect followed)
 * and parses its JSON answer, bounded in time (answer body included) and size; a refusal, no
 * answer or an unreadable one becomes a {@link ComputeApiError} whose message the cloud's rules
 * classify (watch.ts): timed out and network errors transient, 404 and 403 forbidden permanent.
 */
export function getJson<T>(url: URL, token: string, options: GetOptions): Promise<T> {
    return requestJson<T>("GET", url, token, options);
}

/**
 * As {@link getJson}, for any method: a POST carries `body` as JSON (none: an empty body, as
 * Compute Engine's custom methods such as `instances.stop` take).
 */
export async function requestJson<T>(method: "GET" | "POST", url: URL, token: string, options: GetOptions, body?: unknown): Promise<T> {
    const { timeoutMs, what } = options;
    const signal = AbortSignal.timeout(timeoutMs);
    let status = 0;
    let text: string;
    try {
        const res = await fetch(url, {
            method,
            headers: {
                authorization: `Bearer ${token}`,
                accept: "application/json",
                ...(body !== undefined ? { "content-type": "application/json" } : {}),
            },
            ...(method === "POST" ? { body: body !== undefined ? JSON.stringify(body) : "" } : {}),
            redirect: "error",
            signal,
        });
        status = res.status;
        text = await readBounded(res, options.maxBytes, what);
    } catch (err) {
        if (err instanceof ComputeApiError) throw err;
        const tls = tlsFailure(err, what);
        if (tls) throw tls;
        const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
        if (e.name === "TimeoutError" || e.name === "AbortError" || signal.aborted)
            throw new ComputeApiError(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s: timed out`, status);
        const cause = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
        throw new ComputeApiError(`${what}: network error (${cause}): no answer, try again`, status);
    }
    if (status === 404 && options.notFoundIsEmpty) return {} as T;
    if (status < 200 || status > 299) throw new ComputeApiError(`${what}: ${errorMessage(status, text)}`, status);
    try {
        return JSON.parse(text) as T;
    } catch {
        throw new ComputeApiError(`${what}: HTTP ${status} with an answer that is not JSON`, status);
    }
}

/**
 * Google's JSON error (`{"error": {"code", "message", "status", "errors": [{"reason"}]}}`) in the
 * words watch.ts's rules match: `HTTPError 429: RESOURCE_EXHAUSTED rateLimitExceeded: …`.
 */
export function errorMessage(status: number, text: string): string {
    let detail = "";
    try {
        const e = (JSON.parse(text) as { error?: { message?: unknown; status?: unknown; errors?: { reason?: unknown }[] } }).error;
        if (e && typeof e === "object") {
            const reasons = Array.isArray(e.errors) ? e.errors.map((x) => x?.reason).filter((r) => typeof r === "string") : [];
            const words = [typeof e.status === "string" ? e.status : "", ...new Set(reasons)].filter((w) => w).join(" ");
            detail = `${words ? `${words}: ` : ""}${typeof e.message === "string" ? e.message : ""}`;
        }
    } catch {
        detail = text.replace(/\s+/g, " ").trim();
    }
    detail = detail.length > 500 ? `${detail.slice(0, 500)}…` : detail;
    return `HTTPError ${status}${detail ? `: ${detail}` : ""}`;
}

/** The answer's body as text, refusing (and cancelling) one larger than `max` bytes. */
async function readBounded(res: Response, max: number, what: string): Promise<string> {
    const tooLarge = () => new ComputeApiError(`${what}: HTTP ${res.status} with an answer larger than ${max} bytes, not read`, res.status);
    if (Number(res.headers.get("content-length") ?? 0) > max) {
        await res.body?.cancel().catch(() => undefined);
        throw tooLarge();
    }
    if (!res.body) return "";
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > max) {
            await reader.cancel().catch(() => undefined);
            throw tooLarge();
        }
        chunks.push(value);
    }
    return Buffer.concat(chunks).toString("utf8");
}
