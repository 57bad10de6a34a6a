import { CloudWatch, Observation, WaitRequest, followUp } from "../watcher/types";
import { CloudRunner, Fields, cloudMs } from "../gate/types";
import { ComputeApi, defaultComputeApi } from "./api";
import { gcpAction } from "./actions";
import { TOKEN_OP } from "./token";

/**
 * What the GCP steps wait for, observed in batches per project and zone by requests of Compute
 * Engine's REST API made in the watcher's own process (./api.ts; a gcloud call only for its token,
 * every 10 to 55 minutes), each under the rate class of the gcloud call it replaces:
 *   instance          `instances.list` filtered by name, up to 100 names a request (one per page):
 *                     status and boot disk; `booted` also needs `marker` on serial port 1 after
 *                     offset `from` (`instances.getSerialPortOutput`), read per instance only
 *                     once it is RUNNING (first after 150 s, then every 75 s)
 *   guest-attributes  one `instances.getGuestAttributes` of a rescue instance answers every disk
 *                     on it: the agent's result for device `id` (exit code and evidence)
 */
// Status codes only where they stand as status codes ("HTTPError 503", "code: 429", "503 Service
// Unavailable"): a bare number may be part of a resource's name in a permanent error (the
// instance 'web-500' was not found), which must fail at once, not retry until the deadline.
const STATUS = (codes: string) =>
    `(HTTP ?Error|Error|code|status)[:"= ]+(${codes})\\b|\\b(${codes}) (Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)`;
const TRANSIENT = new RegExp(
    `rateLimitExceeded|RATE_LIMIT_EXCEEDED|RESOURCE_EXHAUSTED|Quota exceeded|${STATUS("429|50[0234]")}|backendError|internalError|try again|database is locked|resourceNotReady|is not ready|Connection reset|timed out`,
    "i",
);
const THROTTLING = new RegExp(`rateLimitExceeded|RATE_LIMIT_EXCEEDED|RESOURCE_EXHAUSTED|Quota exceeded|${STATUS("429")}`);

const scopeOf = (f: Fields) => f.project;

/**
 * Whether serial port 1 shows the boot marker after the wait's offset. Windows takes minutes to
 * boot, so the first read comes 150 s after the wait began (at once for a wait that is due now),
 * then one every 75 s: about 3 reads for a 5-minute boot.
 */
async function serialBooted(
    w: WaitRequest,
    api: ComputeApi,
    runner: CloudRunner,
): Promise<{ marker?: string; gone?: string; asOf?: number }> {
    if (w.memo.marker === "found") return { marker: "found" };
    const first = w.received + Math.min(cloudMs(150), Math.max(0, w.deadline - w.received));
    // Past the deadline, output read before it is read again: a timeout is judged on fresh output only.
    const serialAt = Number(w.memo.serialAt ?? 0);
    const stale = Date.now() >= w.deadline && serialAt < w.deadline;
    if (Date.now() < Math.max(first, Number(w.memo.nextSerial ?? 0)) && !stale)
        return { marker: String(w.memo.marker ?? "unchecked"), asOf: serialAt };
    const from = String(w.memo.from ?? w.fields.from ?? "0");
    const read = await followUp(() => api.serialPortOutput(runner, w.fields.project, w.fields.zone, w.id, from));
    if (read.value === undefined) return read; // not observed this round (or gone)
    w.memo.nextSerial = Date.now() + cloudMs(75);
    w.memo.serialAt = Date.now();
    const out = read.value;
    const text = String(w.memo.tail ?? "") + (out.contents ?? "");
    if (out.next !== undefined && /^[0-9]{1,20}$/.test(String(out.next))) w.memo.from = String(out.next);
    w.memo.tail = text.slice(-400);
    w.memo.marker = new RegExp(w.fields.marker || "Windows is ready").test(text) ? "found" : "missing";
    return { marker: String(w.memo.marker) };
}

/** Observes one batch of waits (one key: project and zone, and rescue instance for guest attributes). */
async function observe(api: ComputeApi, waits: WaitRequest[], runner: CloudRunner): Promise<Map<WaitRequest, Observation>> {
    const f = waits[0].fields;
    const seen = new Map<WaitRequest, Observation>();
    if (waits[0].kind === "instance") {
        const names = [...new Set(waits.map((w) => w.id))];
        const listed = await api.listInstances(runner, f.project, f.zone, names);
        const byName = new Map(listed.map((i) => [i.name, i]));
        await Promise.all(
            waits.map(async (w) => {
                const i = byName.get(w.id);
                if (!i) return seen.set(w, { met: false, fields: {}, gone: `instance ${w.id} does not exist in ${f.project}/${f.zone}` });
                const boot = ((i.disks ?? []).find((d) => d.boot)?.source ?? "none").split("/").pop()!;
                let met = w.want === "any" || i.status === w.want;
                let marker = "unchecked";
                let asOf: number | undefined;
                if (w.want === "booted" && i.status === "RUNNING") {
                    const serial = await serialBooted(w, api, runner);
                    if (serial.gone) return seen.set(w, { met: false, fields: {}, gone: serial.gone });
                    if (serial.marker === undefined) return seen; // not observed this round
                    marker = serial.marker;
                    asOf = serial.asOf;
                }
                if (w.want === "booted") met = i.status === "RUNNING" && marker === "found";
                return seen.set(w, { met, fields: { status: i.status, boot, marker }, ...(asOf !== undefined ? { asOf } : {}) });
            }),
        );
        return seen;
    }
    if (waits[0].kind === "guest-attributes") {
        // No attributes yet is a 404 for Compute Engine; the client gives an empty list: "no result yet".
        const attributes = await api.guestAttributes(runner, f.project, f.zone, f.rescue, "bootloop-rescue/");
        const value = new Map(attributes.map((a) => [a.key, a.value]));
        for (const w of waits) {
            const chunks = value.get(`${w.id}-chunks`);
            // A retry's result is the one published with its attempt (the first attempt's stays
            // until the agent starts the retry; a result with no attempt is the first's).
            const attempt = value.get(`${w.id}-attempt`) ?? "1";
            if (chunks === undefined || attempt !== (w.fields.attempt ?? "1")) {
                seen.set(w, { met: false, fields: { result: "pending" } });
                continue;
            }
            let evidence = "";
            // Never more chunks than attributes were read: a garbled count cannot keep the watcher busy.
            const count = Math.min(Number(chunks) || 0, attributes.length);
            for (let i = 0; i < count; i++) evidence += value.get(`${w.id}-c${i}`) ?? "";
            seen.set(w, { met: true, fields: { code: value.get(`${w.id}-code`) ?? "", evidence } });
        }
        return seen;
    }
    throw new Error(`gcp cannot watch ${waits[0].kind}`);
}

/** The GCP part of the watcher, observing through `api` (tests give one pointed at a local server). */
export function makeGcpWatch(api: ComputeApi): CloudWatch {
    return {
        cloud: "gcp",
        kinds: ["instance", "guest-attributes"],
        scopeOf,
        batchKey: (w) => `${w.fields.project}/${w.fields.zone}${w.kind === "guest-attributes" ? `/${w.fields.rescue}` : ""}`,
        batchSize: () => 100,
        // A repair takes minutes: one look at a rescue instance's results every 30 s answers them all.
        pollFactor: (kind) => (kind === "guest-attributes" ? 3 : 1),
        observe: (waits, runner) => observe(api, waits, runner),
        // The steps' restarts, swaps and serial reads of known shapes, as requests here (./actions.ts).
        action: (call) => gcpAction(call, api),
        // Reads of guest attributes count against the per-project mutation quota. The token call
        // (gcloud's own, every 10 to 55 minutes) is no Compute Engine request: a class of its own.
        rateClass: (op) =>
            op === TOKEN_OP
                ? "token"
                : /^instances (describe|list|get-serial-port-output)$|^(disks|snapshots) (describe|list)$|^operations wait$/.test(op)
                  ? "read"
                  : "mutate",
        // Compute Engine's rate quotas are per project (and region) and minute: the defaults it last
        // published are 1,500 a minute for each of queries (mutations, guest-attribute reads), reads
        // and lists (the sandbox's budgets cite them). The watcher's `read` class spends reads and lists
        // from one bucket, and one bucket per project for all its regions: under both.
        // Tokens: one per gcloud configuration every 10 to 55 minutes; the bucket only keeps a fault from spinning.
        rates: {
            read: { perSecond: 25, burst: 40 },
            mutate: { perSecond: 25, burst: 40 },
            token: { perSecond: 1, burst: 5 },
            default: { perSecond: 25, burst: 40 },
        },
        // Per VM chain (offline repair), counted: one real-engine sandbox up of 4 repair VMs in one
        // project and zone at e3eb972 (bench/engine/provider-requests-run.ts, the simulated cloud's counts
        // in test/fixtures/provider-requests/counted.json; test/bench/provider-requests holds the table
        // to them), rounded up. Providers, outside the gate: the backup snapshot, the scratch and fixed
        // disks, the attachment and the VM's share of its zone's rescue instance (3.5 mutations), their
        // operations' polls and reads (8.5 reads, operation reads included). Steps, through it: the
        // swap's stop, labels, detach, attach and start and the VM's share of its rescue instance's
        // guest-attribute reads (6 to 6.25 mutations in two runs); the calls' operation polls, the
        // serial reads' and batched listings (5.5 to 6 reads). So the watcher leaves the providers 4/11
        // of the mutations and 9/15 of the reads.
        providerRequests: { mutate: { providers: 4, steps: 7 }, read: { providers: 9, steps: 6 } },
        transient: (stderr) => TRANSIENT.test(stderr),
        throttling: (stderr) => THROTTLING.test(stderr),
    };
}

/** The GCP part of the watcher: Compute Engine at gcloud's endpoint (or its override), with gcloud's token. */
export const gcpWatch: CloudWatch = makeGcpWatch(defaultComputeApi);
