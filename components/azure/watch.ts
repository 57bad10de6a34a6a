import { CloudWatch, Observation, WaitRequest } from "../watcher/types";
import { CliRunner, Fields, parseJson } from "../gate/types";

/**
 * What the Azure steps wait for, observed in batches per subscription:
 *   vm          `az vm get-instance-view --ids …` (up to 20 VMs a call): power state, VM agent
 *               status, OS disk; wanted: a power state, `ready` (running + agent Ready),
 *               `healthy` (ready, on OS disk `disk`), or `os-disk` (the OS disk is `disk`)
 *   data-disks  `az vm show --ids …` of rescue VMs: the disk at LUN `lun`; `attached` is `disk` there
 * ARM counts every VM of a call as a read, so the rate limits below count requests, not calls.
 */
// Status codes only where they stand as status codes ("Status: 429", "429 Client Error"): a bare
// number may be part of a vault's name or an object id in a permanent error (kv-429, Forbidden).
// `az rest` prints the HTTP reason phrase ("Too Many Requests(…)", "Service Unavailable(…)").
// Resource Manager's own 429s name their scope's code (SubscriptionRequestsThrottled, and the
// tenant's and a resource provider's); Compute's say TooManyRequests.
const TRANSIENT =
    /Too ?Many ?Requests|(Subscription|Tenant|Resource)RequestsThrottled|Status(Code)?:? ?(429|409|50[0234])\b|\b(429|50[0234]) (Client|Server) Error|RetryableError|Conflict|OperationNotAllowed.*another operation|in progress|Service ?Unavailable|Internal ?Server ?Error|Gateway ?Timeout|Bad ?Gateway|LockException|token cache|Unable to (obtain|acquire) lock|Failed to acquire lock|database is locked|Connection aborted|ConnectionResetError|timed out/i;
const THROTTLING = /Too ?Many ?Requests|(Subscription|Tenant|Resource)RequestsThrottled|Status(Code)?:? ?429\b|\b429 Client Error/i;

type View = {
    id?: string;
    name?: string;
    instanceView?: { statuses?: { code: string }[]; vmAgent?: { statuses?: { displayStatus?: string }[] } };
    storageProfile?: { osDisk?: { managedDisk?: { id?: string } } };
};
type Model = { id?: string; name?: string; storageProfile?: { dataDisks?: { lun: number; managedDisk?: { id?: string } }[] } };

const lower = (s: string | undefined) => (s ?? "").toLowerCase();
const scopeOf = (f: Fields) => lower(f.subscription);

function list<T>(text: string): T[] {
    const v = parseJson<T | T[]>(text, []);
    return Array.isArray(v) ? v : [v];
}

function call(cli: CliRunner, f: Fields, op: string, args: string[], cost: number): Promise<string> {
    return cli.run({
        cloud: "azure",
        scope: scopeOf(f),
        op,
        command: "az",
        args: [...op.split(" "), ...args, "--output", "json", "--only-show-errors"],
        cost,
    });
}

async function observe(waits: WaitRequest[], cli: CliRunner): Promise<Map<WaitRequest, Observation>> {
    const f = waits[0].fields;
    const ids = [...new Set(waits.map((w) => w.id))];
    const seen = new Map<WaitRequest, Observation>();
    if (waits[0].kind === "vm") {
        const views = list<View>(await call(cli, f, "vm get-instance-view", ["--ids", ...ids], ids.length));
        const byId = new Map(views.map((v) => [lower(v.id), v]));
        for (const w of waits) {
            const v = byId.get(lower(w.id));
            if (!v) {
                seen.set(w, { met: false, fields: {}, gone: `VM ${w.id} was not found` });
                continue;
            }
            const power = (v.instanceView?.statuses ?? []).find((s) => s.code.startsWith("PowerState/"))?.code.slice(11) ?? "unknown";
            const agent = v.instanceView?.vmAgent?.statuses?.[0]?.displayStatus ?? "";
            const osdisk = v.storageProfile?.osDisk?.managedDisk?.id ?? "";
            const ready = power === "running" && agent === "Ready";
            const onDisk = lower(osdisk) === lower(w.fields.disk);
            const met = { any: true, ready, healthy: ready && onDisk, "os-disk": onDisk }[w.want] ?? power === w.want;
            seen.set(w, { met, fields: { power, agent: agent || "none", osdisk } });
        }
        return seen;
    }
    if (waits[0].kind === "data-disks") {
        const models = list<Model>(await call(cli, f, "vm show", ["--ids", ...ids], ids.length));
        const byId = new Map(models.map((m) => [lower(m.id), m]));
        for (const w of waits) {
            const m = byId.get(lower(w.id));
            if (!m) {
                seen.set(w, { met: false, fields: {}, gone: `rescue VM ${w.id} was not found` });
                continue;
            }
            const atlun = lower((m.storageProfile?.dataDisks ?? []).find((d) => String(d.lun) === w.fields.lun)?.managedDisk?.id);
            seen.set(w, { met: w.want === "any" || atlun === lower(w.fields.disk), fields: { atlun: atlun || "none" } });
        }
        return seen;
    }
    throw new Error(`azure cannot watch ${waits[0].kind}`);
}

export const azureWatch: CloudWatch = {
    cloud: "azure",
    kinds: ["vm", "data-disks"],
    scopeOf,
    batchKey: (w) => scopeOf(w.fields),
    batchSize: () => 20,
    observe,
    rateClass: (op) => (/^(\S+ )*(show|get-instance-view|list|get)$/.test(op) ? "read" : "write"),
    // Resource Manager allows about 25 reads and 10 writes a second per subscription and principal.
    rates: { read: { perSecond: 25, burst: 40 }, write: { perSecond: 10, burst: 10 }, default: { perSecond: 10, burst: 10 } },
    // Per VM chain (offline repair), counted: one real-engine sandbox up of 4 repair VMs in one
    // subscription and zone at e3eb972 (bench/engine/provider-requests-run.ts, the simulated cloud's
    // counts in test/fixtures/provider-requests/counted.json; test/bench/provider-requests holds
    // the table to them), rounded up. Providers, outside the gate: the backup snapshot, the scratch
    // and fixed disks and the VM's share of its zone's rescue VM (5 writes), their operations'
    // polls and reads (12.5 reads). Steps, through it: the attach, the swap's tag, deallocate,
    // OS-disk update and start (5 writes); the watcher's instance views and the calls' reads (11.5
    // to 11.75 reads counted, in the sandbox's short simulated waits: the table keeps 30, its
    // estimate for a real swap's waits, one request per VM a look). So the watcher leaves the
    // providers 5/10 of the writes and 13/43 of the reads.
    providerRequests: { write: { providers: 5, steps: 5 }, read: { providers: 13, steps: 30 } },
    transient: (stderr) => TRANSIENT.test(stderr),
    throttling: (stderr) => THROTTLING.test(stderr),
};
