import { CloudRunner, NoObservationError } from "../gate/types";
import { ArmTokens } from "./arm-token";
import { tlsFailure } from "../gate/tls";

/**
 * The watcher's client of Azure Resource Manager's REST API (Node's `fetch`, in the watcher's own
 * process): GETs of Compute resources by id (the observations, ./watch.ts), and the POSTs and
 * PATCHes of the steps' calls the watcher makes (./actions.ts), each under the gate's budget for the
 * CLI call it replaces ({@link CloudRunner.api}), with a bearer token from the Azure CLI's login
 * ({@link ArmTokens}). Every request times out after {@link REQUEST_TIMEOUT_MS}; an answer larger
 * than {@link MAX_RESPONSE_BYTES} is refused.
 *
 * Endpoint: `AZURE_RESOURCE_MANAGER_ENDPOINT` (the variable the Azure SDK for Go's cloud settings and
 * Azure Service Operator read), with `AZURE_RESOURCE_MANAGER_AUDIENCE` (the token's resource) where
 * that differs from the endpoint; when it is not set, az's configured cloud's (`az cloud show`, once
 * per watcher), so a sovereign cloud (Azure Government, Azure China) az is set to is followed. Plain http only to the loopback (the
 * sandbox's stand-in): a token never crosses a network in the clear.
 *
 * Errors: ARM's `{"error": {"code", "message", "details"}}` becomes `Status: 429 Too Many Requests,
 * SubscriptionRequestsThrottled: …`, the words components/azure/watch.ts's rules classify (429 and
 * 5xx transient, 404 permanent); a 401 fetches a new token and tries once more. No token, or a 401
 * with the fresh one, rejects with a {@link NoObservationError}: the batch gets no observation.
 */

/** Compute's API version: az 2.6x's for virtual machines (and discover.ts's). */
export const COMPUTE_API_VERSION = "2024-07-01";
/** The variables that point the client at another Resource Manager (a sovereign cloud, the sandbox). */
export const ENDPOINT_ENV = "AZURE_RESOURCE_MANAGER_ENDPOINT";
export const AUDIENCE_ENV = "AZURE_RESOURCE_MANAGER_AUDIENCE";
const PUBLIC_ENDPOINT = "https://management.azure.com";
/** No request hangs the watcher: each ends within this (connect, headers and body). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** The most of an answer read: a VM with its instance view is some KB. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Where Resource Manager is and the audience its tokens are asked for. */
export interface ArmEndpoint {
    /** Base URL without a trailing slash, e.g. https://management.azure.com. */
    base: string;
    /** The token's resource, e.g. https://management.azure.com/. */
    audience: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The endpoint from the environment; throws an error naming the variable when it is not a usable URL. */
export function armEndpoint(env: NodeJS.ProcessEnv = process.env): ArmEndpoint {
    const given = (env[ENDPOINT_ENV] ?? "").trim();
    const base = (given || PUBLIC_ENDPOINT).replace(/\/+$/, "");
    let url: URL;
    try {
        url = new URL(base);
    } catch {
        throw new Error(`${ENDPOINT_ENV}: not a URL: ${JSON.stringify(given)}`);
    }
    if (url.search || url.hash || url.username || url.password)
        throw new Error(`${ENDPOINT_ENV}: a base URL without query, fragment or credentials, not ${JSON.stringify(given)}`);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname)))
        throw new Error(`${ENDPOINT_ENV}: https only (plain http to the loopback alone), not ${JSON.stringify(given)}`);
    const audience = (env[AUDIENCE_ENV] ?? "").trim() || `${base}/`;
    return { base, audience };
}

/** A VM's resource id, checked: its parts are safe as URL path segments. */
export interface VmId {
    subscription: string;
    group: string;
    name: string;
}

// Names as Resource Manager allows them (never ending in a period): no "." or ".." segment, no
// "/", "?" or "#" reaches a URL.
const VM_ID =
    /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([\p{L}\p{N}_.()-]{0,89}[\p{L}\p{N}_()-])\/providers\/Microsoft\.Compute\/virtualMachines\/([A-Za-z0-9_.-]{0,63}[A-Za-z0-9_-])$/iu;

/** The parts of a VM's resource id, or undefined when `id` is not one. */
export function parseVmId(id: string): VmId | undefined {
    const m = VM_ID.exec(id);
    return m ? { subscription: m[1], group: m[2], name: m[3] } : undefined;
}

/** An error answer of Resource Manager (or no answer), as the gate's rules read it. */
export class ArmError extends Error {
    constructor(
        message: string,
        /** The HTTP status; 0 when no answer came. */
        readonly status: number,
        /** ARM's error code, "" when there was none. */
        readonly code: string,
    ) {
        super(message);
    }
}

const REASONS: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
};

/** Text from a hostile or broken answer, fit for one log line: printable, bounded. */
function clip(text: string, max = 300): string {
    const one = text.replace(/[^\x20-\x7e]+/g, " ").trim();
    return one.length > max ? `${one.slice(0, max)}…` : one;
}

type ErrorBody = { code?: unknown; message?: unknown; details?: { code?: unknown }[] };

/** The message of an error answer: status and reason, ARM's code and message, the codes of its details, Retry-After. */
export function errorMessage(status: number, body: string, retryAfter: string | null): { message: string; code: string } {
    let code = "";
    let text: string;
    let details: string[] = [];
    try {
        const parsed = JSON.parse(body) as { error?: ErrorBody } & ErrorBody;
        const e: ErrorBody = parsed && typeof parsed === "object" ? (parsed.error ?? parsed) : {};
        code = typeof e.code === "string" ? clip(e.code, 80) : "";
        text = typeof e.message === "string" ? clip(e.message) : "";
        details = Array.isArray(e.details)
            ? e.details.map((d) => (d && typeof d.code === "string" ? clip(d.code, 80) : "")).filter((c) => c && c !== code)
            : [];
    } catch {
        text = clip(body);
    }
    const head = `Status: ${status}${REASONS[status] ? ` ${REASONS[status]}` : ""}`;
    const said = [code, text].filter(Boolean).join(": ");
    const more = [details.length ? `[${details.join(", ")}]` : "", retryAfter ? `(Retry-After: ${clip(retryAfter, 20)} s)` : ""].filter(
        Boolean,
    );
    return { message: [said ? `${head}, ${said}` : head, ...more].join(" "), code };
}

/** Reads a body up to `max` bytes; a longer one is cancelled and refused. */
async function boundedText(res: Response, max: number): Promise<string> {
    const declared = Number(res.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > max) {
        await res.body?.cancel().catch(() => undefined);
        throw new ArmError(`Resource Manager's answer is ${declared} bytes, more than the ${max} read`, res.status, "");
    }
    if (!res.body) return "";
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
            await reader.cancel().catch(() => undefined);
            throw new ArmError(`Resource Manager's answer is more than the ${max} bytes read`, res.status, "");
        }
        chunks.push(value);
    }
    return Buffer.concat(chunks).toString("utf8");
}

/** Why a request got no answer, in words the rules classify ("timed out", "connection failed"). */
function transportError(err: unknown, what: string): ArmError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === "TimeoutError" || e?.name === "AbortError")
        return new ArmError(`${what} timed out after ${REQUEST_TIMEOUT_MS / 1000} s`, 0, "");
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
    return new ArmError(`${what}: connection failed (${clip(String(cause), 120)})`, 0, "");
}

/** Resource Manager's answer to a request: its status and the parsed JSON body (undefined when empty, as a 202's). */
export interface ArmAnswer<T> {
    status: number;
    body: T | undefined;
}

/**
 * One request of Resource Manager with `token` (`path` and `query` under the endpoint, `body` sent
 * as JSON); resolves with the answer of a 2xx status, rejects with an {@link ArmError}.
 */
export async function armSend<T>(
    endpoint: ArmEndpoint,
    request: { method: "GET" | "POST" | "PATCH"; path: string; query: Record<string, string>; body?: unknown },
    token: string,
): Promise<ArmAnswer<T>> {
    const url = `${endpoint.base}${request.path}?${new URLSearchParams(request.query).toString()}`;
    // What a message may name of the request: its path (never the token).
    const what = `${request.method} ${request.path}`;
    let res: Response;
    let body: string;
    try {
        res = await fetch(url, {
            method: request.method,
            headers: {
                authorization: `Bearer ${token}`,
                accept: "application/json",
                ...(request.body === undefined ? {} : { "content-type": "application/json" }),
            },
            body: request.body === undefined ? undefined : JSON.stringify(request.body),
            redirect: "error",
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        body = await boundedText(res, MAX_RESPONSE_BYTES);
    } catch (err) {
        if (err instanceof ArmError) throw err;
        throw tlsFailure(err, what) ?? transportError(err, what);
    }
    if (res.status < 200 || res.status > 299) {
        const { message, code } = errorMessage(res.status, body, res.headers.get("retry-after"));
        throw new ArmError(message, res.status, code);
    }
    const answer: ArmAnswer<T> = { status: res.status, body: undefined };
    if (!body.trim()) return answer;
    try {
        answer.body = JSON.parse(body) as T;
    } catch {
        throw new ArmError(`Resource Manager answered ${res.status} with a body that is not JSON: ${clip(body, 120)}`, res.status, "");
    }
    return answer;
}

/** One GET of Resource Manager with `token`; resolves with the parsed JSON, rejects with an {@link ArmError}. */
export async function armGet<T>(endpoint: ArmEndpoint, path: string, query: Record<string, string>, token: string): Promise<T> {
    const answer = await armSend<T>(endpoint, { method: "GET", path, query }, token);
    if (answer.body === undefined)
        throw new ArmError(`Resource Manager answered ${answer.status} with a body that is not JSON: (empty)`, answer.status, "");
    return answer.body;
}

/** The op (and, in azure/watch.ts, rate class `token`) of the call that reads az's configured cloud. */
export const CLOUD_SHOW_OP = "cloud show";
/** The longest `az cloud show` may take. */
export const CLOUD_SHOW_TIMEOUT_MS = 120_000;

/** The endpoint `AZURE_RESOURCE_MANAGER_ENDPOINT` names, or undefined when it is not set (az's configured cloud then). */
export function endpointFromEnv(env: NodeJS.ProcessEnv = process.env): ArmEndpoint | undefined {
    return (env[ENDPOINT_ENV] ?? "").trim() ? armEndpoint(env) : undefined;
}

/**
 * Resource Manager's endpoint and audience of az's configured cloud (AzureCloud, AzureUSGovernment,
 * AzureChinaCloud, a registered one), as `az cloud show` prints them; checked as
 * {@link armEndpoint} checks the variables. Rejects with a {@link NoObservationError}.
 */
export async function azCloudEndpoint(runner: CloudRunner, scope: string): Promise<ArmEndpoint> {
    let stdout: string;
    try {
        stdout = await runner.run({
            cloud: "azure",
            scope,
            op: CLOUD_SHOW_OP,
            command: "az",
            args: [
                "cloud",
                "show",
                "--query",
                "{rm: endpoints.resourceManager, aud: endpoints.activeDirectoryResourceId}",
                "--output",
                "json",
                "--only-show-errors",
            ],
            timeoutMs: CLOUD_SHOW_TIMEOUT_MS,
        });
    } catch (err) {
        throw new NoObservationError(
            `az cloud show (Resource Manager's endpoint of az's cloud): ${err instanceof Error ? err.message : String(err)}`,
        );
    }
    let parsed: { rm?: unknown; aud?: unknown };
    try {
        parsed = JSON.parse(stdout) as { rm?: unknown; aud?: unknown };
    } catch {
        throw new NoObservationError(`az cloud show printed no JSON: ${clip(stdout, 120)}`);
    }
    const rm = parsed && typeof parsed.rm === "string" ? parsed.rm : "";
    const aud = parsed && typeof parsed.aud === "string" ? parsed.aud : "";
    if (!rm) throw new NoObservationError("az cloud show printed no endpoints.resourceManager");
    try {
        return armEndpoint({ [ENDPOINT_ENV]: rm, [AUDIENCE_ENV]: aud });
    } catch (err) {
        throw new NoObservationError(`az cloud show: ${err instanceof Error ? err.message : String(err)}`);
    }
}

/**
 * Resource Manager as the watcher reads it: an endpoint, and tokens held across observations. The
 * endpoint is `AZURE_RESOURCE_MANAGER_ENDPOINT`'s when it is set, else az's configured cloud's,
 * asked once per watcher ({@link azCloudEndpoint}; a failure is asked again at the next batch).
 */
export class ArmClient {
    private known?: ArmEndpoint;
    private asking?: Promise<ArmEndpoint>;

    constructor(
        endpoint: ArmEndpoint | undefined = endpointFromEnv(),
        private readonly tokens: ArmTokens = new ArmTokens(),
    ) {
        this.known = endpoint;
    }

    /** The endpoint: given, or az's cloud's (one `az cloud show` for all callers, kept once had). */
    async endpoint(runner: CloudRunner, scope: string): Promise<ArmEndpoint> {
        if (this.known) return this.known;
        this.asking ??= azCloudEndpoint(runner, scope).finally(() => (this.asking = undefined));
        this.known = await this.asking;
        return this.known;
    }

    /** The token of `subscription` (held, or fetched: one az call); rejects with a NoObservationError when there is none to be had. */
    async token(runner: CloudRunner, scope: string, subscription: string): Promise<void> {
        const { audience } = await this.endpoint(runner, scope);
        await this.tokens.get(runner, scope, subscription, audience);
    }

    /**
     * GETs `path` (a resource id) of `subscription` as one request of the gate's `op` in `scope`
     * (cost 1). The token is fetched before the request takes its place in the budget; a 401
     * fetches a new one and tries once more within the same place (ARM counts no refused request).
     */
    async get<T>(
        runner: CloudRunner,
        call: { scope: string; op: string; subscription: string; path: string; query: Record<string, string> },
    ): Promise<T> {
        const answer = await this.send<T>(runner, { ...call, method: "GET" });
        if (answer.body === undefined)
            throw new ArmError(`Resource Manager answered ${answer.status} with a body that is not JSON: (empty)`, answer.status, "");
        return answer.body;
    }

    /**
     * One request (`method` on `path`, with `body` as JSON) of `subscription` as one request of the
     * gate's `op` in `scope` (cost 1), as {@link get} makes it: the token fetched first, a 401
     * tried once more with a fresh one.
     */
    async send<T>(
        runner: CloudRunner,
        call: {
            scope: string;
            op: string;
            subscription: string;
            method: "GET" | "POST" | "PATCH";
            path: string;
            query: Record<string, string>;
            body?: unknown;
        },
    ): Promise<ArmAnswer<T>> {
        const endpoint = await this.endpoint(runner, call.scope);
        const { audience } = endpoint;
        const token = await this.tokens.get(runner, call.scope, call.subscription, audience);
        return runner.api({ cloud: "azure", scope: call.scope, op: call.op, cost: 1 }, async () => {
            try {
                return await armSend<T>(endpoint, call, token);
            } catch (err) {
                if (!(err instanceof ArmError) || err.status !== 401) throw err;
                await this.tokens.invalidate(call.subscription, audience, token);
                const fresh = await this.tokens.get(runner, call.scope, call.subscription, audience);
                try {
                    return await armSend<T>(endpoint, call, fresh);
                } catch (again) {
                    if (!(again instanceof ArmError) || again.status !== 401) throw again;
                    await this.tokens.invalidate(call.subscription, audience, fresh);
                    // Refused with a fresh token too: the login's fault, not the VM's.
                    throw new NoObservationError(`az's credentials were refused twice (a fresh token too): ${again.message}`);
                }
            }
        });
    }
}
