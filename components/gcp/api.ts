import { backoffMs, sleep } from "../gate/limits";
import { CliError, CloudRunner, NoObservationError, cloudMs } from "../gate/types";
import { ComputeApiError, requestJson } from "./http";
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
    /**
     * How an operation wait that failed transiently is asked again: jittered backoff from `baseMs`
     * up to `capMs` (cloud time; default 2 s to 30 s), until the step's deadline.
     */
    waitRetry?: { baseMs: number; capMs: number };
}

/** A zonal operation as Compute Engine answers a change (the fields the actions read). */
export interface Operation {
    name?: string;
    status?: string;
    httpErrorStatusCode?: number;
    error?: { errors?: { code?: string; message?: string }[] };
}

/** A disk's labels and the fingerprint `disks.setLabels` must be given back. */
export interface DiskLabels {
    labels?: Record<string, string>;
    labelFingerprint?: string;
}

/** An instance's attached disks as `instances.get` gives them (the fields detach-disk needs). */
export interface InstanceDisks {
    disks?: { deviceName?: string; source?: string; boot?: boolean }[];
}

/** One `zoneOperations.wait` asks for at most this long (the API itself answers after about 2 minutes). */
const WAIT_MS = 130_000;
/** Operation names as Compute Engine gives them: nothing a path could misread. */
const OPERATION_NAME = /^[a-zA-Z0-9][-a-zA-Z0-9_]{0,127}$/;

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
    private get<T>(
        runner: CloudRunner,
        project: string,
        op: string,
        segments: string[],
        query: Record<string, string>,
        notFoundIsEmpty = false,
    ): Promise<T> {
        return this.request<T>(runner, project, op, "GET", segments, query, { notFoundIsEmpty });
    }

    /**
     * One request through the gate under `op`, with the token; a 401 once more with a fresh token.
     * `check` judges the answer inside the gate's request (an operation that ended in an error is
     * then classified by the cloud's rules, as a refused request is).
     */
    private async request<T>(
        runner: CloudRunner,
        project: string,
        op: string,
        method: "GET" | "POST",
        segments: string[],
        query: Record<string, string>,
        extra: { notFoundIsEmpty?: boolean; body?: unknown; timeoutMs?: number; check?: (answer: T) => void } = {},
    ): Promise<T> {
        const url = this.url(segments, query);
        const what = `${op.replace(/^(instances|disks|operations) /, "$1.")} ${segments.slice(1).join("/")}`;
        for (let attempt = 1; ; attempt++) {
            const token = await this.token.get(runner, project);
            try {
                return await runner.api({ cloud: "gcp", scope: project, op }, async () => {
                    const answer = await requestJson<T>(
                        method,
                        url,
                        token,
                        {
                            timeoutMs: extra.timeoutMs ?? this.options.timeoutMs ?? 30_000,
                            maxBytes: this.options.maxBytes ?? 8 * 2 ** 20,
                            what,
                            notFoundIsEmpty: extra.notFoundIsEmpty,
                        },
                        method === "POST" ? extra.body : undefined,
                    );
                    extra.check?.(answer);
                    return answer;
                });
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

    /**
     * Sends a change to a resource of the zone (`POST …/zones/ZONE/PATH`, under `op`): its
     * operation as started. An operation that already failed rejects ({@link operationFailed}).
     */
    private startChange(
        runner: CloudRunner,
        project: string,
        zone: string,
        op: string,
        path: string[],
        query: Record<string, string> = {},
        body?: unknown,
    ): Promise<Operation> {
        return this.request<Operation>(runner, project, op, "POST", ["projects", project, "zones", zone, ...path], query, {
            ...(body === undefined ? {} : { body }),
            check: operationFailed,
        });
    }

    /**
     * `instances.stop`, `instances.start` or `instances.reset` of one instance (a POST with no
     * body), under the step's `op`; with `wait`, the zone operation is waited for, as gcloud does
     * without `--async` ({@link waitOperation}).
     */
    async instanceChange(
        runner: CloudRunner,
        op: string,
        project: string,
        zone: string,
        name: string,
        method: "stop" | "start" | "reset",
        wait: boolean,
        deadline: number,
    ): Promise<Operation> {
        const started = await this.startChange(runner, project, zone, op, ["instances", name, method]);
        return wait ? this.waitOperation(runner, project, zone, started, deadline) : started;
    }

    /**
     * Attaches the zone's disk `disk` to the instance (`instances.attachDisk`) as gcloud's
     * `instances attach-disk NAME --disk DISK [--boot]` does: an AttachedDisk of type PERSISTENT,
     * mode READ_WRITE, the disk's URL as `source`, `boot` only when true, no device name (Compute
     * Engine then names it); the operation is waited for.
     */
    async attachDisk(
        runner: CloudRunner,
        op: string,
        project: string,
        zone: string,
        name: string,
        disk: string,
        boot: boolean,
        deadline: number,
    ): Promise<Operation> {
        const source = this.url(["projects", project, "zones", zone, "disks", disk], {}).toString();
        const body = { mode: "READ_WRITE", source, type: "PERSISTENT", ...(boot ? { boot: true } : {}) };
        const started = await this.startChange(runner, project, zone, op, ["instances", name, "attachDisk"], {}, body);
        return this.waitOperation(runner, project, zone, started, deadline);
    }

    /**
     * Detaches the zone's disk `disk` from the instance as gcloud's `instances detach-disk NAME
     * --disk DISK` does: the instance is read (`instances.get`, under `readOp`) for the device name
     * the disk is attached under, then `instances.detachDisk?deviceName=…` (under `op`); the
     * operation is waited for. A disk not attached to it fails, naming both.
     */
    async detachDisk(
        runner: CloudRunner,
        readOp: string,
        op: string,
        project: string,
        zone: string,
        name: string,
        disk: string,
        deadline: number,
    ): Promise<Operation> {
        const instance = await this.request<InstanceDisks>(
            runner,
            project,
            readOp,
            "GET",
            ["projects", project, "zones", zone, "instances", name],
            {
                fields: "disks(deviceName,source,boot)",
            },
        );
        const suffix = `/projects/${project}/zones/${zone}/disks/${disk}`;
        const attached = (instance.disks ?? []).find((d) => typeof d?.source === "string" && d.source.endsWith(suffix));
        if (!attached || typeof attached.deviceName !== "string" || attached.deviceName === "")
            throw new CliError(`Disk [${disk}] is not attached to instance [${name}] in zone [${zone}].`, false);
        const started = await this.startChange(runner, project, zone, op, ["instances", name, "detachDisk"], {
            deviceName: attached.deviceName,
        });
        return this.waitOperation(runner, project, zone, started, deadline);
    }

    /**
     * Adds labels to a zone's disk as gcloud's `disks add-labels DISK --labels …` does: the disk is
     * read (`disks.get`, under `readOp`) for its labels and `labelFingerprint`, the new labels are
     * merged over them, and `disks.setLabels` (under `op`) is sent with the fingerprint, only when
     * a label changes (gcloud sends nothing otherwise); the operation is waited for.
     */
    async addDiskLabels(
        runner: CloudRunner,
        readOp: string,
        op: string,
        project: string,
        zone: string,
        disk: string,
        labels: Record<string, string>,
        deadline: number,
    ): Promise<Operation | undefined> {
        const now = await this.request<DiskLabels>(runner, project, readOp, "GET", ["projects", project, "zones", zone, "disks", disk], {
            fields: "labels,labelFingerprint",
        });
        const current = now.labels && typeof now.labels === "object" ? now.labels : {};
        const merged = { ...current, ...labels };
        if (Object.entries(labels).every(([k, v]) => current[k] === v)) return undefined;
        const started = await this.startChange(
            runner,
            project,
            zone,
            op,
            ["disks", disk, "setLabels"],
            {},
            {
                labels: merged,
                labelFingerprint: now.labelFingerprint ?? "",
            },
        );
        // gcloud's add-labels waits through its poller, which asks once even for an operation already DONE.
        return this.waitOperation(runner, project, zone, started, deadline, true);
    }

    /**
     * Waits for a zone operation to be DONE (`zoneOperations.wait`, each request counted under the
     * op `operations wait`, a read), as gcloud does for a change made without `--async`; each wait
     * asks for no longer than the deadline leaves. An operation that ends with `error` rejects,
     * its codes and messages in the error (judged by the cloud's rules: the change itself failed,
     * so sending it again may be right). The change was accepted: a wait request that fails
     * transiently (throttled, 5xx, timed out, no token) is asked again here with jittered backoff,
     * never passed on as transient (the step would send the change again: a second attach finds the
     * disk in use, a second reset resets twice); an operation not DONE by the deadline rejects for
     * good, naming it. With `atLeastOnce`, one wait is asked for even when the operation is DONE
     * already (as gcloud's waiter does for `disks add-labels`).
     */
    async waitOperation(
        runner: CloudRunner,
        project: string,
        zone: string,
        operation: Operation,
        deadline: number,
        atLeastOnce = false,
    ): Promise<Operation> {
        const retry = this.options.waitRetry ?? { baseMs: 2000, capMs: 30_000 };
        let op = operation;
        let failures = 0;
        let lastFailure = "";
        for (let asked = 0; op.status !== "DONE" || (atLeastOnce && asked === 0);) {
            const name = op.name;
            if (typeof name !== "string" || !OPERATION_NAME.test(name))
                throw new CliError(
                    `Compute Engine answered a change with no usable operation name (${JSON.stringify(name)?.slice(0, 80)})`,
                    false,
                );
            const left = deadline - Date.now();
            if (left <= 0)
                throw new CliError(
                    `operation ${name} in ${project}/${zone} was accepted and had not finished by the step's deadline` +
                        `${lastFailure ? ` (its last wait failed: ${lastFailure})` : ` (last status ${String(op.status ?? "none")})`}; ` +
                        `the change is not sent again: \`gcloud compute operations describe ${name} --zone ${zone} --project ${project}\` tells how it ended`,
                    false,
                );
            // Set once the wait was answered: a rejection after it is the operation's own error, not the wait's.
            const answered = { is: false };
            try {
                op = await this.request<Operation>(
                    runner,
                    project,
                    "operations wait",
                    "POST",
                    ["projects", project, "zones", zone, "operations", name, "wait"],
                    {},
                    {
                        timeoutMs: Math.min(WAIT_MS, left + 1000),
                        check: (answer) => {
                            answered.is = true;
                            operationFailed(answer);
                        },
                    },
                );
                asked++;
            } catch (err) {
                if (answered.is || !(err instanceof CliError && err.transient)) throw err;
                failures++;
                lastFailure = err.message.length > 300 ? `${err.message.slice(0, 300)}…` : err.message;
                const pause = cloudMs(backoffMs(failures, retry.baseMs, retry.capMs) / 1000);
                await sleep(Math.max(0, Math.min(pause, deadline - Date.now())));
            }
        }
        return op;
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

/**
 * Rejects an operation that ended with an error (`error.errors[]`: each `code` and `message`), in
 * the words the cloud's rules judge: `HTTPError STATUS: CODE: message` (the status gcloud shows
 * as the operation's `httpErrorStatusCode`, when it has one).
 */
export function operationFailed(answer: unknown): void {
    const op = answer as Operation | undefined;
    const errors = op && typeof op === "object" && op.error && Array.isArray(op.error.errors) ? op.error.errors : undefined;
    if (!errors) return;
    const detail = errors
        .map((e) =>
            [typeof e?.code === "string" ? e.code : "", typeof e?.message === "string" ? e.message : ""].filter((w) => w).join(": "),
        )
        .filter((w) => w)
        .join("; ");
    const status = typeof op?.httpErrorStatusCode === "number" ? `HTTPError ${op.httpErrorStatusCode}: ` : "";
    const text = detail.length > 500 ? `${detail.slice(0, 500)}…` : detail;
    throw new ComputeApiError(
        `operation ${String(op?.name ?? "").slice(0, 128)} failed: ${status}${text || "an error without a code"}`,
        op?.httpErrorStatusCode ?? 0,
    );
}

/** The process's client at gcloud's endpoint (or its override), with gcloud's token: the watcher's observations and actions share it (and its token). */
export const defaultComputeApi = new ComputeApi();
