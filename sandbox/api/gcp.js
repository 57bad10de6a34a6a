// STAND-IN (for the tests and for `npm run sandbox`) for the Compute Engine REST v1 requests the GCP
// watcher makes (components/gcp/api.ts), on the API front (./front.js). Each request becomes the
// gcloud call that answers the same question, run by the stand-in gcloud on the same world (so its
// request counting, budgets, faults and call log stay one implementation, and the call log shows
// the gcloud-shaped call as before); its JSON is given back in the REST shape, its error as
// Compute Engine's JSON error with the status the real API sends.
//
//   GET /compute/v1/projects/P/zones/Z/instances?filter=name eq "(a|b)"  → compute instances list --zones Z --filter=name=( a b )
//   GET …/instances/N/serialPort?port=1&start=S                          → compute instances get-serial-port-output N --port 1 --start S
//   GET …/instances/N/getGuestAttributes?queryPath=Q                     → compute instances get-guest-attributes N --query-path=Q
//
// The steps' calls the watcher makes as requests (components/gcp/actions.ts), each the gcloud call
// the step's script would have run (`… --project P --zone Z --format json --quiet`, in its order):
//   POST …/instances/N/stop|start|reset                  → compute instances stop|start|reset N
//   GET  …/instances/N                                   → compute instances describe N
//   POST …/instances/N/detachDisk?deviceName=D           → compute instances detach-disk N --disk D
//   POST …/instances/N/attachDisk {source …/disks/D, boot} → compute instances attach-disk N --disk D [--boot]
//   GET  …/disks/D                                       → compute disks describe D
//   POST …/disks/D/setLabels {labels, labelFingerprint}  → compute disks add-labels D --labels k=v,…
//   POST …/operations/OP/wait (and GET …/operations/OP)  → no call (the change's call counted its operation
//                                                          read): the operation as the change left it
// A change is answered with its zone operation, DONE (but in the engine bench: below): the
// stand-in's changes end at once, and its call (made without --async: the front cannot know whether the
// client will wait) counts the change and one operation read, as gcloud waiting for it would. So a
// swap's `stop --async` and `start --async` made here count one operation read each that the CLI's
// would not, and are logged without --async. Where the stand-in's answers lack what the API gives:
// an attached disk's deviceName is the disk's name (as the stand-in attaches them); a disk's
// labelFingerprint is a hash of its labels, not checked by setLabels (which sets the labels given,
// merged by the client); setLabels' labels are all passed to add-labels (the stand-in sets exactly
// those).
//
// In the engine bench (BENCH_ENGINE_COSTS names its settings, BENCH_ENGINE_HOLDS its spend.js), a change whose gcloud call would be
// synchronous (bench/engine/spend.js `isSynchronous`: attach-disk, detach-disk, add-labels) takes
// as long as the bench holds that call (spend.js `holdSeconds` of the same argument list, seeded:
// the time a real cloud's operation takes): the stand-in makes the change at once, but its
// operation is RUNNING until the hold has passed; `zoneOperations.wait` blocks until then, at most
// `waitAtMostMs` (100 s: the real wait answers within about 2 minutes), and answers the operation
// as it then is (RUNNING: the client waits again). Outside the bench (tests, `npm run sandbox`)
// every operation is DONE at once. The labels' argument list holds all the disk's labels (the
// step's call named only the new ones), so its seeded hold is another draw from the same range.
//
// Where gcloud's JSON differs from the REST's: `instances list` prints a bare array (REST: {items,
// nextPageToken}, `items` left out when empty); `get-guest-attributes` prints the flattened
// queryValue.items (REST: {queryPath, queryValue: {items}}); `get-serial-port-output` prints start
// and next as numbers (REST: int64 as strings).
// Reference: https://cloud.google.com/compute/docs/reference/rest/v1/instances/list,
// …/instances/getSerialPortOutput, …/instances/getGuestAttributes, …/instances/stop (start,
// reset, attachDisk, detachDisk: each answers an Operation), …/instances/get, …/disks/get,
// …/disks/setLabels, …/zoneOperations/wait (https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations); errors:
// https://cloud.google.com/compute/api-quota (a rate quota exceeded is a 403 with reason rateLimitExceeded).

/** The token the stand-in gcloud's `config config-helper` hands out (sandbox/cli/gcp/gcloud): requests must carry it. */
const TOKEN = "ya29.stand-in-token";
const crypto = require("crypto");
const SELF = "https://www.googleapis.com/compute/v1";

/** Compute Engine's JSON error. */
function failure(status, reason, message, googleStatus) {
    const error = { code: status, message, errors: [{ message, domain: "global", reason }] };
    if (googleStatus) error.status = googleStatus;
    return { status, headers: { "content-type": "application/json; charset=UTF-8" }, body: JSON.stringify({ error }) };
}

/** The stand-in gcloud's error (its stderr) as the API's. */
function fromCli(stderr) {
    const message = stderr
        .replace(/^ERROR: \([^)]*\) /, "")
        .replace(/^Could not fetch resource:\s*(- )?/, "")
        .trim();
    if (/Rate Limit Exceeded|rateLimitExceeded|Quota exceeded/i.test(message)) return failure(403, "rateLimitExceeded", message);
    if (/was not found|not found/i.test(message)) return failure(404, "notFound", message);
    if (/permission/i.test(message)) return failure(403, "forbidden", message);
    return failure(400, "invalid", message);
}

const ok = (body) => ({ status: 200, headers: { "content-type": "application/json; charset=UTF-8" }, body: JSON.stringify(body) });

/** The operations the front answered, by name (the last 10,000), for `zoneOperations.wait`/`get`. */
const operations = new Map();
/** When each operation still RUNNING is done (ms since the epoch), by name. */
const doneAt = new Map();
let operationCount = 0;

/** The engine bench's settings as last read, and the file they came from. */
let bench;

/**
 * How long (ms) the change of this gcloud call takes: in the engine bench, the hold spend.js gives
 * the call (0 for a call that is not synchronous); outside it, 0.
 */
function changeMs(argv) {
    const file = process.env.BENCH_ENGINE_COSTS;
    if (!file) return 0;
    // The bench names its own module (the sandbox imports nothing of the bench's): never a silent 0.
    const holds = process.env.BENCH_ENGINE_HOLDS;
    if (!holds) throw new Error("BENCH_ENGINE_COSTS is set without BENCH_ENGINE_HOLDS (the bench's spend.js, which holds its calls)");
    const spend = require(holds);
    if (!bench || bench.file !== file) bench = { file, settings: spend.readSettings() };
    return spend.holdSeconds(bench.settings, "gcloud", argv) * 1000;
}

/** A change's zone operation: DONE (the stand-in's change ended with its call), or RUNNING for `holdMs`. */
function operation(project, zone, type, target, holdMs) {
    const name = `operation-${Date.now()}-${process.pid}-${++operationCount}`;
    const at = new Date().toISOString();
    const op = {
        kind: "compute#operation",
        id: String(operationCount),
        name,
        zone: `${SELF}/projects/${project}/zones/${zone}`,
        operationType: type,
        targetLink: target,
        status: "DONE",
        progress: 100,
        insertTime: at,
        startTime: at,
        endTime: at,
        selfLink: `${SELF}/projects/${project}/zones/${zone}/operations/${name}`,
    };
    if (holdMs > 0) {
        Object.assign(op, { status: "RUNNING", progress: 0 });
        delete op.endTime;
        doneAt.set(name, Date.now() + holdMs);
    }
    operations.set(name, op);
    if (operations.size > 10000) {
        const oldest = operations.keys().next().value;
        operations.delete(oldest);
        doneAt.delete(oldest);
    }
    return op;
}

/** The operation as it is now: DONE once its time has come (after waiting up to `waitMs` for it). */
async function settle(op, waitMs) {
    const at = doneAt.get(op.name);
    if (at === undefined) return op;
    const wait = Math.min(at - Date.now(), waitMs);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (Date.now() >= at && doneAt.delete(op.name)) Object.assign(op, { status: "DONE", progress: 100, endTime: new Date().toISOString() });
    return op;
}

/** A label set's fingerprint (the API's is opaque: 8 bytes, base64). */
const fingerprint = (labels) =>
    crypto
        .createHash("sha256")
        .update(JSON.stringify(Object.entries(labels || {}).sort()))
        .digest()
        .subarray(0, 8)
        .toString("base64");

/** The JSON body of a POST, or undefined when it is none. */
function bodyOf(req) {
    try {
        return req.body ? JSON.parse(req.body) : {};
    } catch {
        return undefined;
    }
}

/**
 * The steps' requests (see the head of this file): their answer, or undefined for a request that
 * is none of them (an observation).
 */
async function changes(req, standIn) {
    const m = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instances|disks|operations)\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
    if (!m) return undefined;
    const [project, zone, kind, name, method] = m.slice(1).map((s) => (s === undefined ? s : decodeURIComponent(s)));
    const tail = ["--project", project, "--zone", zone, "--format", "json", "--quiet"];
    const target = `${SELF}/projects/${project}/zones/${zone}/${kind}/${name}`;
    const post = req.method === "POST";
    if (kind === "operations") {
        if (post ? method !== "wait" : method !== undefined)
            return failure(404, "notFound", `the stand-in knows no ${req.method} ${req.path}`);
        const op = operations.get(name);
        if (!op) return failure(404, "notFound", `The resource 'projects/${project}/zones/${zone}/operations/${name}' was not found`);
        return ok(await settle(op, post ? module.exports.waitAtMostMs : 0));
    }
    const done = async (argv, type) => {
        // Read before the change is made: settings that cannot be read fail the request, not its operation.
        const holdMs = changeMs(argv);
        const r = await standIn(argv);
        return r.code !== 0 ? fromCli(r.stderr) : ok(operation(project, zone, type, target, holdMs));
    };
    if (kind === "instances" && !post && method === undefined) {
        const r = await standIn(["compute", "instances", "describe", name, ...tail]);
        if (r.code !== 0) return fromCli(r.stderr);
        const i = JSON.parse(r.stdout);
        return ok({
            kind: "compute#instance",
            ...i,
            disks: (i.disks || []).map((d) => ({
                kind: "compute#attachedDisk",
                type: "PERSISTENT",
                mode: "READ_WRITE",
                ...d,
                source: `${SELF}/projects/${project}/zones/${zone}/disks/${String(d.source).split("/").pop()}`,
                deviceName: d.deviceName || String(d.source).split("/").pop(),
            })),
            selfLink: target,
        });
    }
    if (kind === "instances" && post && ["stop", "start", "reset"].includes(method))
        return done(["compute", "instances", method, name, ...tail], method);
    if (kind === "instances" && post && method === "detachDisk") {
        const device = req.query.get("deviceName");
        if (!device) return failure(400, "required", "Required field 'deviceName' not specified");
        return done(["compute", "instances", "detach-disk", name, "--disk", device, ...tail], "detachDisk");
    }
    if (kind === "instances" && post && method === "attachDisk") {
        const body = bodyOf(req);
        const d =
            body &&
            typeof body.source === "string" &&
            new RegExp(`/projects/${project}/zones/${zone}/disks/([a-z0-9-]+)$`).exec(body.source);
        if (!d) return failure(400, "invalid", `Invalid value for field 'resource.source': '${body && body.source}'.`);
        if ((body.mode || "READ_WRITE") !== "READ_WRITE" || (body.type || "PERSISTENT") !== "PERSISTENT" || body.deviceName !== undefined)
            return failure(400, "invalid", "the stand-in attaches PERSISTENT disks READ_WRITE under their own name only");
        return done(["compute", "instances", "attach-disk", name, "--disk", d[1], ...(body.boot ? ["--boot"] : []), ...tail], "attachDisk");
    }
    if (kind === "disks" && !post && method === undefined) {
        const r = await standIn(["compute", "disks", "describe", name, ...tail]);
        if (r.code !== 0) return fromCli(r.stderr);
        const disk = JSON.parse(r.stdout);
        return ok({
            kind: "compute#disk",
            ...disk,
            labelFingerprint: fingerprint(disk.labels),
            zone: `${SELF}/projects/${project}/zones/${zone}`,
            selfLink: target,
        });
    }
    if (kind === "disks" && post && method === "setLabels") {
        const body = bodyOf(req);
        const labels = body && body.labels && typeof body.labels === "object" ? Object.entries(body.labels) : undefined;
        if (!labels || typeof body.labelFingerprint !== "string")
            return failure(400, "required", "Required field 'labelFingerprint' or 'labels' not specified");
        if (labels.length === 0 || labels.some(([k, v]) => /[,=]/.test(k) || /[,=]/.test(String(v))))
            return failure(400, "invalid", "the stand-in sets one or more labels without ',' or '='");
        return done(
            ["compute", "disks", "add-labels", name, "--labels", labels.map(([k, v]) => `${k}=${v}`).join(","), ...tail],
            "setLabels",
        );
    }
    return undefined;
}

module.exports = {
    prefix: "/gcp",

    /** The longest one `zoneOperations.wait` blocks (ms): the real one answers within about 2 minutes, DONE or not. */
    waitAtMostMs: 100_000,

    endpointEnv(base) {
        return { CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${base}/compute/v1/` };
    },

    async handle(req, standIn) {
        if (req.method !== "GET" && req.method !== "POST")
            return failure(405, "methodNotAllowed", `the stand-in answers GET and POST only, not ${req.method}`);
        if (req.headers.authorization !== `Bearer ${TOKEN}`)
            return failure(401, "authError", "Request had invalid authentication credentials.", "UNAUTHENTICATED");
        const change = await changes(req, standIn);
        if (change) return change;
        if (req.method !== "GET") return failure(404, "notFound", `the stand-in knows no POST ${req.path}`);
        const m = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/instances(?:\/([^/]+)\/(serialPort|getGuestAttributes))?$/.exec(
            req.path,
        );
        if (!m) return failure(404, "notFound", `the stand-in knows no ${req.path}`);
        const [project, zone, name, method] = m.slice(1).map((s) => (s === undefined ? s : decodeURIComponent(s)));
        const tail = ["--project", project, "--format", "json", "--quiet"];
        const base = `${SELF}/projects/${project}/zones/${zone}/instances`;
        if (!method) {
            // The watcher's filter: name eq "(a|b|c)" (a regular expression the whole name must match).
            const f = /^name eq "\(([a-z0-9|-]*)\)"$/.exec(req.query.get("filter") || "");
            if (!f) return failure(400, "invalid", `Invalid value for field 'filter': '${req.query.get("filter")}'.`);
            const names = f[1].split("|").filter((n) => n);
            const r = await standIn(["compute", "instances", "list", "--zones", zone, `--filter=name=( ${names.join(" ")} )`, ...tail]);
            if (r.code !== 0) return fromCli(r.stderr);
            // maxResults and pageToken (the offset) as the API pages; each page is a request of its own.
            const all = JSON.parse(r.stdout || "[]");
            const from = Number(req.query.get("pageToken") || 0);
            const size = Math.min(500, Number(req.query.get("maxResults") || 500));
            const items = all.slice(from, from + size);
            return ok({
                kind: "compute#instanceList",
                id: `projects/${project}/zones/${zone}/instances`,
                ...(items.length
                    ? { items: items.map((i) => ({ kind: "compute#instance", ...i, zone: `${SELF}/projects/${project}/zones/${zone}` })) }
                    : {}),
                ...(from + size < all.length ? { nextPageToken: String(from + size) } : {}),
                selfLink: base,
            });
        }
        if (method === "serialPort") {
            const start = req.query.get("start") || "0";
            const r = await standIn([
                "compute",
                "instances",
                "get-serial-port-output",
                name,
                "--zone",
                zone,
                "--port",
                req.query.get("port") || "1",
                "--start",
                start,
                ...tail,
            ]);
            if (r.code !== 0) return fromCli(r.stderr);
            const out = JSON.parse(r.stdout);
            return ok({
                kind: "compute#serialPortOutput",
                contents: out.contents,
                start: String(out.start),
                next: String(out.next),
                selfLink: `${base}/${name}/serialPort?port=1`,
            });
        }
        const queryPath = req.query.get("queryPath");
        const r = await standIn([
            "compute",
            "instances",
            "get-guest-attributes",
            name,
            "--zone",
            zone,
            ...(queryPath !== null ? [`--query-path=${queryPath}`] : []),
            ...tail,
        ]);
        if (r.code !== 0) return fromCli(r.stderr);
        return ok({
            kind: "compute#guestAttributes",
            queryPath: queryPath || "",
            queryValue: { items: JSON.parse(r.stdout || "[]") },
            selfLink: `${base}/${name}/guestAttributes/${queryPath || ""}`,
        });
    },
};
