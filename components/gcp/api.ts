import { CloudRunner, NoObservationError } from "../gate/types";
import { ComputeApiError, getJson } from "./http";
import { GcloudToken } from "./token";

/** Compute Engine's REST endpoint, unless gcloud's own override names another. */
export const DEFAULT_ENDPOINT = "https://compute.googleapis.com/compute/v1/";
/** gcloud's override of the Compute Engine endpoint; the watcher's requests honour it too. */
export const ENDPOINT_ENV = "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE";

/** An instance as `instances.list` gives it (the fields the watcher asks for). */
export interface Instance {
    name: string;
    status: string;
    disks?: { boot?: boolean; source?: string }[];
}

/** A guest attribute (`queryValue.items[]` of `instances.getGuestAttributes`). */
export interface GuestAttribute {
    namespace?: string;
    key: string;
    value: string;
}

/** What `instances.getSerialPortOutput` returns (int64 fields come as strings on the wire). */
export interface SerialOutput {
    contents?: string;
    start?: string;
    next?: string;
}

/** How the client reaches Compute Engine (every field has a default). */
export interface ComputeApiOptions {
    /** The endpoint (default: {@link ENDPOINT_ENV}, else {@link DEFAULT_ENDPOINT}), read at each request. */
    endpoint?: string;
    /** Per request, answer body included (default 30 s): no request hangs the watcher. */
    timeoutMs?: number;
    /** The largest answer read (default 8 MiB: 1 MB of serial output escaped in JSON fits). */
    maxBytes?: number;
    /** `maxResults` of a listing (default: the API's own, 500). */
    pageSize?: number;
    /** The token source (default: gcloud's, cached in this process). */
    token?: GcloudToken;
}

/** The most pages one listing follows (100 names fit in one page of 500). */
const MAX_PAGES = 20;
/** Instance names as Compute Engine allows them (RFC 1035): nothing a filter or a path could misread. */
const INSTANCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Compute Engine REST v1 requests the GCP watcher observes with, made in its own process by
 * Node's fetch, each through the gate ({@link CloudRunner.api}) under the rate class of the gcloud
 * call it replaces. Auth: a bearer token from gcloud ({@link GcloudToken}); a 401 drops it and the
 * request is made once more with a new one. No token, or a second 401, rejects with a
 * {@link NoObservationError}: the batch gets no observation (never an instance "gone").
 */
export class ComputeApi {
    private readonly token: GcloudToken;

    constructor(private readonly options: ComputeApiOptions = {}) {
        this.token = options.token ?? new GcloudToken();
    }

    /**
     * The named instances of a zone that exist (`instances.list`, names filtered by the API, one
     * request per page). Names Compute Engine cannot have are not asked for: they do not exist.
     */
    async listInstances(runner: CloudRunner, project: string, zone: string, names: readonly string[]): Promise<Instance[]> {
        const wanted = [...new Set(names)].filter((n) => INSTANCE_NAME.test(n));
        if (wanted.length === 0) return [];
        const out: Instance[] = [];
        const seen = new Set<string>();
        let pageToken: string | undefined;
        for (let page = 0; ; page++) {
            if (page >= MAX_PAGES) throw new ComputeApiError(`instances.list in ${project}/${zone}: more than ${MAX_PAGES} pages`, 0);
            const query: Record<string, string> = {
                filter: `name eq "(${wanted.join("|")})"`,
                fields: "items(name,status,disks(boot,source)),nextPageToken",
                ...(this.options.pageSize ? { maxResults: String(this.options.pageSize) } : {}),
                ...(pageToken ? { pageToken } : {}),
            };
            const body = await this.get<{ items?: Instance[]; nextPageToken?: string }>(
                runner,
                project,
                "instances list",
                ["projects", project, "zones", zone, "instances"],
                query,
            );
            for (const i of body.items ?? []) if (i && typeof i.name === "string" && typeof i.status === "string") out.push(i);
            pageToken = typeof body.nextPageToken === "string" && body.nextPageToken !== "" ? body.nextPageToken : undefined;
            if (!pageToken) return out;
            if (seen.has(pageToken)) throw new ComputeApiError(`instances.list in ${project}/${zone}: a page token came twice`, 0);
            seen.add(pageToken);
        }
    }

    /** Serial port 1 of an instance from byte `start` on (`instances.getSerialPortOutput`). */
    serialPortOutput(runner: CloudRunner, project: string, zone: string, name: string, start: string): Promise<SerialOutput> {
        return this.get<SerialOutput>(
            runner,
            project,
            "instances get-serial-port-output",
            ["projects", project, "zones", zone, "instances", name, "serialPort"],
            { port: "1", start },
        );
    }

    /**
     * The guest attributes under `queryPath` (`instances.getGuestAttributes`). None published yet
     * is a 404 for Compute Engine; here it is an empty list (as is, alike, a rescue instance that
     * does not exist: the stack owns it).
     */
    async guestAttributes(runner: CloudRunner, project: string, zone: string, name: string, queryPath: string): Promise<GuestAttribute[]> {
        const body = await this.get<{ queryValue?: { items?: GuestAttribute[] } }>(
            runner,
            project,
            "instances get-guest-attributes",
            ["projects", project, "zones", zone, "instances", name, "getGuestAttributes"],
            { queryPath },
            true,
        );
        return (body.queryValue?.items ?? []).filter((a) => a && typeof a.key === "string" && typeof a.value === "string");
    }

    /** One GET through the gate, with the token; a 401 once more with a fresh token. */
    private async get<T>(
        runner: CloudRunner,
        project: string,
        op: string,
        segments: string[],
        query: Record<string, string>,
        notFoundIsEmpty = false,
    ): Promise<T> {
        const url = this.url(segments, query);
        const what = `${op.replace(/^instances /, "instances.")} ${segments.slice(1).join("/")}`;
        for (let attempt = 1; ; attempt++) {
            const token = await this.token.get(runner, project);
            try {
                return await runner.api({ cloud: "gcp", scope: project, op }, () =>
                    getJson<T>(url, token, {
                        timeoutMs: this.options.timeoutMs ?? 30_000,
                        maxBytes: this.options.maxBytes ?? 8 * 2 ** 20,
                        what,
                        notFoundIsEmpty,
                    }),
                );
            } catch (err) {
                const message = err instanceof Error ? err.message : String(err);
                if (/\bHTTPError 401\b/.test(message)) {
                    this.token.invalidate(token);
                    if (attempt === 1) continue;
                    // Refused with a token fresh from gcloud too: the account's, not the instance's, fault.
                    throw new NoObservationError(`gcloud's credentials were refused twice (a fresh token too): ${message}`);
                }
                throw err;
            }
        }
    }

    /** The request's URL under the endpoint; every path segment encoded, dot segments refused. */
    private url(segments: string[], query: Record<string, string>): URL {
        const raw = this.options.endpoint ?? process.env[ENDPOINT_ENV] ?? DEFAULT_ENDPOINT;
        const base = new URL(raw.endsWith("/") ? raw : `${raw}/`);
        const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(base.hostname);
        if (base.protocol !== "https:" && !(base.protocol === "http:" && loopback))
            throw new Error(
                `${ENDPOINT_ENV}=${raw}: the Compute Engine endpoint must be https (http only on the loopback): a token goes there`,
            );
        for (const s of segments)
            if (s === "" || s === "." || s === ".." || s.length > 256)
                throw new Error(`Compute Engine request: the path segment ${JSON.stringify(s)} is not a valid project, zone or name`);
        const url = new URL(segments.map(encodeURIComponent).join("/"), base);
        for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
        return url;
    }
}
