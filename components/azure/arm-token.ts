import { CliError, CliRunner, NoObservationError } from "../gate/types";

/** What `az account get-access-token --output json` prints (az 2.54 and later add `expires_on`, POSIX seconds). */
interface AzAccessToken {
    accessToken?: unknown;
    /** Local time without a zone, e.g. "2026-12-07 13:04:05.000000". */
    expiresOn?: unknown;
    expires_on?: unknown;
}

/** A bearer token for Resource Manager and when it stops working (ms since the epoch). */
interface Held {
    value: string;
    expiresAt: number;
}

/** A token is used until this long before it expires, then fetched anew. */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** The longest `az account get-access-token` may take: a hung one is killed, and its subscription gets no observation. */
export const TOKEN_TIMEOUT_MS = 120_000;
/** How long a token whose expiry az did not say is trusted: long enough for this look, not for the next. */
const UNKNOWN_LIFETIME_MS = REFRESH_BEFORE_MS + 60_000;

/** When a token from az expires (ms since the epoch), or undefined when az did not say in a form we read. */
export function expiryOf(t: AzAccessToken): number | undefined {
    const posix = Number(t.expires_on);
    if (t.expires_on !== undefined && t.expires_on !== "" && Number.isFinite(posix) && posix > 0) return posix * 1000;
    if (typeof t.expiresOn === "string") {
        // az prints it in local time without a zone; Date reads "YYYY-MM-DDTHH:MM:SS.ffffff" as local time too.
        const local = Date.parse(t.expiresOn.trim().replace(" ", "T"));
        if (Number.isFinite(local)) return local;
    }
    return undefined;
}

/**
 * Resource Manager tokens of the watcher, one per subscription and audience, from the Azure CLI's
 * login (`az account get-access-token --resource AUDIENCE --subscription S`, through the gate: one
 * CLI process per token, about once an hour per subscription). A token lives in this process's
 * memory only: never in an argument, a log line, an error message or a file.
 */
export class ArmTokens {
    private readonly held = new Map<string, Promise<Held>>();

    constructor(private readonly now: () => number = Date.now) {}

    /**
     * A token for `subscription`: the held one while it has more than {@link REFRESH_BEFORE_MS} to
     * live, else a new one (concurrent callers share one fetch, killed after {@link TOKEN_TIMEOUT_MS}).
     * A token that cannot be had rejects with a {@link NoObservationError}: it is no VM's fault.
     */
    async get(cli: CliRunner, scope: string, subscription: string, audience: string): Promise<string> {
        const key = `${subscription.toLowerCase()}\n${audience}`;
        const pending = this.held.get(key);
        if (pending) {
            const t = await pending.catch(() => undefined);
            if (t && t.expiresAt - REFRESH_BEFORE_MS > this.now()) return t.value;
            // Expired, or the fetch failed: fetch anew, unless another caller already did.
            if (this.held.get(key) !== pending) return this.get(cli, scope, subscription, audience);
        }
        const fetching = this.fetch(cli, scope, subscription, audience).catch((err: unknown) => {
            const why = err instanceof Error ? err.message : String(err);
            throw new NoObservationError(`no Resource Manager token from az (subscription ${subscription}): ${why}`);
        });
        this.held.set(key, fetching);
        try {
            return (await fetching).value;
        } catch (err) {
            if (this.held.get(key) === fetching) this.held.delete(key);
            throw err;
        }
    }

    /** Forgets `token` (Resource Manager refused it: 401), unless a newer one replaced it already. */
    async invalidate(subscription: string, audience: string, token: string): Promise<void> {
        const key = `${subscription.toLowerCase()}\n${audience}`;
        const pending = this.held.get(key);
        if (!pending) return;
        const t = await pending.catch(() => undefined);
        if (this.held.get(key) === pending && (!t || t.value === token)) this.held.delete(key);
    }

    private async fetch(cli: CliRunner, scope: string, subscription: string, audience: string): Promise<Held> {
        const stdout = await cli.run({
            cloud: "azure",
            scope,
            op: "account get-access-token",
            command: "az",
            args: [
                "account",
                "get-access-token",
                "--resource",
                audience,
                "--subscription",
                subscription,
                "--output",
                "json",
                "--only-show-errors",
            ],
            timeoutMs: TOKEN_TIMEOUT_MS,
        });
        let parsed: AzAccessToken;
        try {
            parsed = JSON.parse(stdout) as AzAccessToken;
        } catch {
            // JSON.parse's own message quotes the text: it may hold the token.
            throw new CliError(`az account get-access-token (subscription ${subscription}) printed no JSON`, false);
        }
        const value = parsed && typeof parsed === "object" ? parsed.accessToken : undefined;
        if (typeof value !== "string" || !/^[\x21-\x7e]+$/.test(value))
            throw new CliError(`az account get-access-token (subscription ${subscription}) printed no accessToken`, false);
        return { value, expiresAt: expiryOf(parsed) ?? this.now() + UNKNOWN_LIFETIME_MS };
    }
}
