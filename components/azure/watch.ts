import { CloudWatch, Observation, WaitRequest, followUp } from "../watcher/types";
import { CloudRunner, Fields, NoObservationError } from "../gate/types";
import { Semaphore } from "../gate/limits";
import { CLOUD_SHOW_OP, COMPUTE_API_VERSION, parseVmId } from "./api";
import { armClient } from "./arm-client";
import { azureAction } from "./actions";

export { useArmClient } from "./arm-client";

/**
 * What the Azure steps wait for, observed in batches per subscription by requests of Resource
 * Manager's REST API made in the watcher's own process (./api.ts): one request per VM, the VMs of a
 * batch {@link CONCURRENT} at once, each under the budget of the CLI call it replaces:
 *   vm          GET …/virtualMachines/N?$expand=instanceView (the request `az vm get-instance-view`
 *               makes; rated as "vm get-instance-view"): power state, VM agent status, OS disk;
 *               wanted: a power state, `ready` (running + agent Ready), `healthy` (ready, on OS disk
 *               `disk`), or `os-disk` (the OS disk is `disk`)
 *   data-disks  GET …/virtualMachines/N (`az vm show`; rated as "vm show") of rescue VMs: the disk at
 *               LUN `lun`; `attached` is `disk` there
 * A VM Resource Manager does not know (404) is gone; one whose request was throttled or failed is
 * not observed this round (never a negative observation), and a batch none of whose VMs could be
 * observed fails (the watcher backs off). The requests' token: `az account get-access-token` per
 * subscription, about once an hour (./arm-token.ts), the only CLI call the watcher makes here.
 * ARM counts every VM as a read, so the rate limits below count requests, not calls.
 */
// Status codes only where they stand as status codes ("Status: 429", "429 Client Error"): a bare
// number may be part of a vault's name or an object id in a permanent error (kv-429, Forbidden).
// `az rest` prints the HTTP reason phrase ("Too Many Requests(…)", "Service Unavailable(…)"), and
// so do the API client's errors ("Status: 429 Too Many Requests, SubscriptionRequestsThrottled: …").
// Resource Manager's own 429s name their scope's code (SubscriptionRequestsThrottled, and the
// tenant's and a resource provider's); Compute's say TooManyRequests. A request that got no answer
// "timed out" or its "connection failed". A 409 is transient by its code alone (Conflict, another
// operation in progress): OperationNotAllowed for the VM's state (a swap of a running VM) or
// PropertyChangeNotAllowed never passes by trying again, so the API client's message gives no
// reason phrase for 409.
const TRANSIENT =
    /Too ?Many ?Requests|(Subscription|Tenant|Resource)RequestsThrottled|Status(Code)?:? ?(429|50[0234])\b|\b(429|50[0234]) (Client|Server) Error|RetryableError|\(Conflict\)|Code: ?Conflict\b|Status: 409, Conflict:|OperationNotAllowed.*another operation|operation.{0,80}in progress|Service ?Unavailable|Internal ?Server ?Error|Gateway ?Timeout|Bad ?Gateway|LockException|token cache|Unable to (obtain|acquire) lock|Failed to acquire lock|database is locked|Connection aborted|ConnectionResetError|timed out|connection failed/i;
const THROTTLING = /Too ?Many ?Requests|(Subscription|Tenant|Resource)RequestsThrottled|Status(Code)?:? ?429\b|\b429 Client Error/i;

/** Requests of one batch in flight at once. */
export const CONCURRENT = 8;

type Status = { code?: string; displayStatus?: string };
type InstanceView = { statuses?: Status[]; vmAgent?: { statuses?: Status[] } };
/** A VM as Resource Manager's REST API gives it (the CLI flattens `properties`; the API does not). */
type Vm = {
    id?: string;
    properties?: {
        instanceView?: InstanceView;
        storageProfile?: {
            osDisk?: { managedDisk?: { id?: string } | null };
            dataDisks?: { lun?: number; managedDisk?: { id?: string } | null }[];
        };
    };
};

const lower = (s: string | undefined) => (s ?? "").toLowerCase();
const scopeOf = (f: Fields) => lower(f.subscription);

/**
 * GETs each wait's VM (its `id`) once, {@link CONCURRENT} at once: the VM, `gone` (a permanent error:
 * not found, not allowed, not a VM id), or nothing (throttled, failed: no observation of it now).
 */
async function readVms(waits: WaitRequest[], runner: CloudRunner, op: string, query: Record<string, string>) {
    const api = armClient();
    const slots = new Semaphore(CONCURRENT);
    const ids = [...new Set(waits.map((w) => w.id))];
    const scope = scopeOf(waits[0].fields);
    // The token first, once per subscription: one that cannot be had rejects the batch before any read.
    const subscriptions = new Set(ids.map((id) => parseVmId(id)?.subscription.toLowerCase()).filter((s) => s !== undefined));
    for (const subscription of subscriptions) await api.token(runner, scope, subscription);
    let lastError: Error | undefined;
    // A failure that is no VM's (a token refused twice, TLS): the reads not yet made are not made.
    let stopped: NoObservationError | undefined;
    const read = await Promise.all(
        ids.map(async (id) => {
            const vm = parseVmId(id);
            if (!vm) return [lower(id), { gone: `not a VM resource id: ${JSON.stringify(id)}` }] as const;
            const release = await slots.acquire();
            try {
                if (stopped) return [lower(id), {}] as const;
                const got = await followUp(() =>
                    api
                        .get<Vm>(runner, {
                            scope,
                            op,
                            subscription: vm.subscription,
                            path: `/subscriptions/${vm.subscription}/resourceGroups/${encodeURIComponent(vm.group)}/providers/Microsoft.Compute/virtualMachines/${encodeURIComponent(vm.name)}`,
                            query,
                        })
                        .catch((err: unknown) => {
                            lastError = err instanceof Error ? err : new Error(String(err));
                            throw err;
                        }),
                );
                return [lower(id), got] as const;
            } catch (err) {
                if (!(err instanceof NoObservationError)) throw err;
                stopped ??= err;
                return [lower(id), {}] as const;
            } finally {
                release();
            }
        }),
    );
    if (stopped) throw stopped;
    const byId = new Map<string, { value?: Vm; gone?: string }>(read);
    // Not one VM observed nor found gone: the batch failed (throttled, no token, no answer).
    if (lastError !== undefined && [...byId.values()].every((r) => !r.value && !r.gone)) throw lastError;
    return byId;
}

/** Why a VM is gone, for its step: not found says so; another permanent error as the cloud said it. */
function goneText(what: string, id: string, message: string): string {
    return /^Status: 404\b/.test(message) ? `${what} ${id} was not found (${message})` : `${what} ${id}: ${message}`;
}

async function observe(waits: WaitRequest[], runner: CloudRunner): Promise<Map<WaitRequest, Observation>> {
    const seen = new Map<WaitRequest, Observation>();
    if (waits[0].kind === "vm") {
        const byId = await readVms(waits, runner, "vm get-instance-view", { "api-version": COMPUTE_API_VERSION, $expand: "instanceView" });
        for (const w of waits) {
            const r = byId.get(lower(w.id));
            if (r?.gone) seen.set(w, { met: false, fields: {}, gone: goneText("VM", w.id, r.gone) });
            if (!r?.value) continue;
            const p = r.value.properties ?? {};
            const power =
                (p.instanceView?.statuses ?? []).find((s) => (s.code ?? "").startsWith("PowerState/"))?.code?.slice(11) ?? "unknown";
            const agent = p.instanceView?.vmAgent?.statuses?.[0]?.displayStatus ?? "";
            const osdisk = p.storageProfile?.osDisk?.managedDisk?.id ?? "";
            const ready = power === "running" && agent === "Ready";
            const onDisk = lower(osdisk) === lower(w.fields.disk);
            const met = { any: true, ready, healthy: ready && onDisk, "os-disk": onDisk }[w.want] ?? power === w.want;
            seen.set(w, { met, fields: { power, agent: agent || "none", osdisk } });
        }
        return seen;
    }
    if (waits[0].kind === "data-disks") {
        const byId = await readVms(waits, runner, "vm show", { "api-version": COMPUTE_API_VERSION });
        for (const w of waits) {
            const r = byId.get(lower(w.id));
            if (r?.gone) seen.set(w, { met: false, fields: {}, gone: goneText("rescue VM", w.id, r.gone) });
            if (!r?.value) continue;
            const disks = r.value.properties?.storageProfile?.dataDisks ?? [];
            const atlun = lower(disks.find((d) => String(d.lun) === w.fields.lun)?.managedDisk?.id);
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
    action: azureAction,
    // The token (Microsoft Entra ID, not Resource Manager): a class of its own, outside ARM's buckets.
    rateClass: (op) =>
        op === "account get-access-token" || op === CLOUD_SHOW_OP
            ? "token"
            : /^(\S+ )*(show|get-instance-view|list|get)$/.test(op)
              ? "read"
              : "write",
    // Resource Manager allows about 25 reads and 10 writes a second per subscription and principal.
    // Tokens: one per subscription about once an hour; the bucket only keeps a fault from spinning.
    rates: {
        read: { perSecond: 25, burst: 40 },
        write: { perSecond: 10, burst: 10 },
        token: { perSecond: 1, burst: 5 },
        default: { perSecond: 10, burst: 10 },
    },
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
