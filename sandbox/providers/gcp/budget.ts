// What the stand-in gcp provider's calls spend from the simulated GCP's budget (sandbox/cli/budget.js),
// from the same buckets as the gcloud stand-in's calls: the Compute Engine quota metric of the API
// each operation calls, in the resource's project and region (global for firewalls and snapshots'
// reads); each poll of an operation is an operation read. Snapshots' writes (a quota of their own)
// and IAM calls are counted under no bucket. Throttled, the provider retries (sandbox/world/requests.ts)
// and in the end fails with Compute Engine's 403 rateLimitExceeded, as the provider reports it.
import { ProviderCall } from "../host";
import { BudgetRequest, budget, spendAsProvider } from "../../world/requests";
import { worldFile } from "../../world/world-file";
import { googleApiError } from "./google-api";
import { GCP_WORLD_VARIABLE } from "./store";

/** Per resource type: the API and quota class of each operation (create, read, update, delete). */
const APIS: Record<string, Partial<Record<ProviderCall["op"], [string, string]>>> = {
    "gcp:compute/snapshot:Snapshot": {
        create: ["disks.createSnapshot", "global resource write"],
        read: ["snapshots.get", "read"],
        update: ["snapshots.setLabels", "global resource write"],
        delete: ["snapshots.delete", "global resource write"],
    },
    "gcp:compute/disk:Disk": {
        create: ["disks.insert", "mutation"],
        read: ["disks.get", "read"],
        update: ["disks.setLabels", "mutation"],
        delete: ["disks.delete", "mutation"],
    },
    "gcp:compute/attachedDisk:AttachedDisk": {
        create: ["instances.attachDisk", "mutation"],
        read: ["instances.get", "read"],
        delete: ["instances.detachDisk", "mutation"],
    },
    "gcp:compute/instance:Instance": {
        create: ["instances.insert", "mutation"],
        read: ["instances.get", "read"],
        update: ["instances.setMetadata", "mutation"],
        delete: ["instances.delete", "mutation"],
    },
    "gcp:compute/firewall:Firewall": {
        create: ["firewalls.insert", "mutation"],
        read: ["firewalls.get", "read"],
        update: ["firewalls.patch", "mutation"],
        delete: ["firewalls.delete", "mutation"],
    },
    // A project metadata item reads the project and sets its common instance metadata (all items at once).
    "gcp:compute/projectMetadataItem:ProjectMetadataItem": {
        create: ["projects.setCommonInstanceMetadata", "mutation"],
        read: ["projects.get", "read"],
        update: ["projects.setCommonInstanceMetadata", "mutation"],
        delete: ["projects.setCommonInstanceMetadata", "mutation"],
    },
    "gcp:compute/getInstance:getInstance": { invoke: ["instances.get", "read"] },
    "gcp:compute/getDisk:getDisk": { invoke: ["disks.get", "read"] },
};

/** Where a call acts: its zone (a self link's, or `zone`), global for firewalls, project metadata and snapshots' reads. */
function whereOf(call: ProviderCall): string {
    if (
        call.token.includes("firewall") ||
        call.token.includes("projectMetadataItem") ||
        (call.token.includes("snapshot") && call.op !== "create")
    )
        return "global";
    const link = [call.props.zone, call.props.instance, call.props.sourceDisk, call.props.selfLink].find(
        (v) => typeof v === "string" && /\/zones\/[^/]+/.test(v),
    ) as string | undefined;
    const zone = link
        ? /\/zones\/([^/]+)/.exec(link)![1]
        : typeof call.props.zone === "string" && call.props.zone
          ? call.props.zone
          : "us-central1-a";
    return zone;
}

/** The request a provider call makes (IAM's and Secret Manager's: counted under no bucket). */
export function requestOf(call: ProviderCall): BudgetRequest {
    const project = typeof call.props.project === "string" && call.props.project ? call.props.project : "my-project";
    const [api, cls] = APIS[call.token]?.[call.op] ?? [`${call.token.split(":")[1] ?? call.token} ${call.op}`, "other API"];
    return budget.gceRequest(project, whereOf(call), api, cls);
}

/** Spends `requests` from the GCP world's budget; the provider's rateLimitExceeded when its retries run out. */
function spend(requests: BudgetRequest[]): Promise<void> | undefined {
    return spendAsProvider(
        worldFile(GCP_WORLD_VARIABLE),
        () => requests,
        (r) => new Error(`Error calling ${r.api}: ${googleApiError(403, "Rate Limit Exceeded", "rateLimitExceeded")}`),
    );
}

/** The stand-in provider's meter: one request per call. */
export const meter = (call: ProviderCall): Promise<void> | undefined => spend([requestOf(call)]);

/** A poll of a zonal operation in `props`' project and zone. */
export const pollOperation = (props: Record<string, unknown>): Promise<void> | undefined =>
    spend([
        budget.gceRequest(
            typeof props.project === "string" && props.project ? props.project : "my-project",
            whereOf({ op: "create", token: "operation", props }),
            "zoneOperations.get",
            "operation read",
        ),
    ]);
