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
// Where gcloud's JSON differs from the REST's: `instances list` prints a bare array (REST: {items,
// nextPageToken}, `items` left out when empty); `get-guest-attributes` prints the flattened
// queryValue.items (REST: {queryPath, queryValue: {items}}); `get-serial-port-output` prints start
// and next as numbers (REST: int64 as strings).
// Reference: https://cloud.google.com/compute/docs/reference/rest/v1/instances/list,
// …/instances/getSerialPortOutput, …/instances/getGuestAttributes; errors:
// https://cloud.google.com/compute/api-quota (a rate quota exceeded is a 403 with reason rateLimitExceeded).

/** The token the stand-in gcloud's `config config-helper` hands out (sandbox/cli/gcp/gcloud): requests must carry it. */
const TOKEN = "ya29.stand-in-token";
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

module.exports = {
    prefix: "/gcp",

    endpointEnv(base) {
        return { CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${base}/compute/v1/` };
    },

    async handle(req, standIn) {
        if (req.method !== "GET") return failure(405, "methodNotAllowed", `the stand-in answers GET only, not ${req.method}`);
        if (req.headers.authorization !== `Bearer ${TOKEN}`)
            return failure(401, "authError", "Request had invalid authentication credentials.", "UNAUTHENTICATED");
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
