import { DiscoveryGate } from "../discovery/cli";
import { CliError } from "../../gate/types";
import { PreflightCli } from "./types";

/** Tries of an HTTPS call that came back throttled or with a server error. */
const FETCH_TRIES = 4;

/**
 * The preflight's door to the clouds: CLI calls through discovery's gate (processes bounded, each
 * scope under its rate limit, transient errors retried), and JSON over HTTPS for the one check no
 * CLI command makes, retried on 429 and 5xx. The token travels only in the request header.
 */
export class PreflightGate implements PreflightCli {
    constructor(
        private readonly gate: DiscoveryGate,
        private readonly http: typeof fetch = fetch,
        private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    ) {}

    run(call: Parameters<DiscoveryGate["run"]>[0]): Promise<string> {
        return this.gate.run(call);
    }

    async fetchJson(call: {
        cloud: string;
        scope: string;
        op: string;
        url: string;
        method: "GET" | "POST";
        token: string;
        body?: unknown;
    }): Promise<unknown> {
        for (let attempt = 1; ; attempt++) {
            const name = `${call.cloud} ${call.op}`;
            this.gate.calls[name] = (this.gate.calls[name] ?? 0) + 1;
            let res: Response;
            try {
                res = await this.http(call.url, {
                    method: call.method,
                    headers: { authorization: `Bearer ${call.token}`, "content-type": "application/json" },
                    body: call.body === undefined ? undefined : JSON.stringify(call.body),
                    signal: AbortSignal.timeout(60_000),
                });
            } catch (err) {
                // fetch says only "fetch failed"; what went wrong (DNS, refused, TLS, timeout) is its cause.
                const cause = (err as { cause?: { message?: string; code?: string } }).cause;
                const why = cause ? `: ${cause.message || cause.code}` : "";
                throw new CliError(`${call.op}: ${(err as Error).message}${why}`, false);
            }
            const text = await res.text();
            if (res.ok) return text.trim() ? JSON.parse(text) : {};
            const transient = res.status === 429 || res.status >= 500;
            if (!transient || attempt >= FETCH_TRIES)
                throw new CliError(`${call.op}: HTTP ${res.status}: ${text.replace(/\s+/g, " ").slice(0, 300)}`, transient);
            await this.sleep(Math.random() * 1000 * 2 ** attempt);
        }
    }
}
