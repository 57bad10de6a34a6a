import { CliError, CliRunner, NoObservationError } from "../gate/types";

/** The gate's operation (and rate class `token`, outside the read and mutate budgets) of the token call. */
export const TOKEN_OP = "config config-helper";

/**
 * gcloud refreshes its cached token only when it would expire within this: the token it hands out
 * is good for at least this long (`--min-expiry`, at most 1 h by gcloud's flag).
 */
const MIN_EXPIRY_MINUTES = 15;
/** The longest `gcloud config config-helper` may take: a hung one is killed, and its project gets no observation. */
export const TOKEN_TIMEOUT_MS = 120_000;
/** A token is used until this long before its expiry. */
const MARGIN_MS = 5 * 60_000;
/** Never ask gcloud again sooner than this (a clock far off would otherwise ask on every request). */
const FLOOR_MS = 60_000;

/** What `gcloud config config-helper --format=json` prints that matters here. */
interface ConfigHelper {
    credential?: { access_token?: unknown; token_expiry?: unknown };
}

/**
 * The OAuth2 access token the watcher's Compute Engine requests carry, minted by gcloud (so its
 * account, impersonation and configuration are honoured) and kept in this process's memory only.
 *
 * `gcloud auth print-access-token` prints no expiry (its `--format=json` has the token alone) and
 * hands out its cached token, which may have only 5 minutes left; `gcloud config config-helper
 * --min-expiry=15m` (gcloud's helper for external tools) refreshes a token with less than 15
 * minutes left and prints its `token_expiry`. The token is kept until 5 minutes before that (10
 * minutes after the fetch when gcloud gives no expiry), and dropped at once when a request is
 * refused with 401 ({@link invalidate}). It is never logged, never in argv or a file: only in the
 * Authorization header.
 */
export class GcloudToken {
    private token?: { value: string; refreshAt: number };
    private pending?: Promise<string>;

    constructor(private readonly now: () => number = Date.now) {}

    /**
     * The current token, from the cache or one gcloud call (concurrent callers share it; the call
     * is killed after {@link TOKEN_TIMEOUT_MS}). A token that cannot be had rejects with a
     * {@link NoObservationError}: it is no instance's fault.
     */
    async get(cli: CliRunner, scope: string): Promise<string> {
        if (this.token && this.now() < this.token.refreshAt) return this.token.value;
        if (!this.pending)
            this.pending = this.fetch(cli, scope)
                .catch((err: unknown) => {
                    if (err instanceof NoObservationError) throw err;
                    const why = err instanceof CliError || err instanceof Error ? err.message : String(err);
                    throw new NoObservationError(`no GCP access token from gcloud (asked for project ${scope}): ${why}`);
                })
                .finally(() => {
                    this.pending = undefined;
                });
        return this.pending;
    }

    /** Forgets `value` (a request was refused with it); a newer token fetched meanwhile stays. */
    invalidate(value: string): void {
        if (this.token?.value === value) this.token = undefined;
    }

    private async fetch(cli: CliRunner, scope: string): Promise<string> {
        const fetchedAt = this.now();
        const stdout = await cli.run({
            cloud: "gcp",
            scope,
            op: TOKEN_OP,
            command: "gcloud",
            args: ["config", "config-helper", `--min-expiry=${MIN_EXPIRY_MINUTES}m`, "--format=json", "--quiet"],
            timeoutMs: TOKEN_TIMEOUT_MS,
        });
        let parsed: ConfigHelper;
        try {
            parsed = JSON.parse(stdout) as ConfigHelper;
        } catch {
            // Never echo the output: it carries the token.
            throw new Error("gcloud config config-helper printed no JSON (its output is not shown: it may hold a token)");
        }
        const value = parsed.credential?.access_token;
        if (typeof value !== "string" || !/^[\x21-\x7e]{1,4096}$/.test(value))
            throw new Error("gcloud config config-helper gave no usable credential.access_token (is an account logged in?)");
        const stated = parsed.credential?.token_expiry;
        const expiry = typeof stated === "string" ? Date.parse(stated) : NaN;
        const until = Number.isFinite(expiry) ? expiry - MARGIN_MS : fetchedAt + MIN_EXPIRY_MINUTES * 60_000 - MARGIN_MS;
        this.token = { value, refreshAt: Math.max(until, fetchedAt + FLOOR_MS) };
        return value;
    }
}
