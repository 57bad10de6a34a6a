// `npm run sandbox -- world` as text: per cloud, each collection of the world (instances or VMs,
// disks or volumes, snapshots, …) with each object's id, its state, what it boots, what is attached
// and its tags or labels. It reads the worlds generically, so a field a cloud's world adds shows up
// without a change here.
import { DiscoveryCliName } from "../cli/stand-ins";

/** The fields shown for every object that has them, in this order. */
const SHOWN = [
    "state",
    "status",
    "powerState",
    "provisioningState",
    "boots",
    "rootDeviceName",
    "attachedTo",
    "managedBy",
    "users",
    "sourceVolume",
    "source",
    "sourceDisk",
];
/** The fields shown as key=value lists. */
const LISTS = ["tags", "labels"];

const CLOUD_OF: Record<DiscoveryCliName, string> = { aws: "AWS", az: "Azure", gcloud: "GCP" };

function value(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

/** One object's line: its id, then the fields it has of SHOWN and LISTS. */
function line(id: string, o: Record<string, unknown>): string {
    const parts = SHOWN.filter((k) => o[k] !== undefined && o[k] !== "").map((k) => `${k}=${value(o[k])}`);
    for (const k of LISTS) {
        const list = o[k];
        if (list && typeof list === "object" && Object.keys(list).length > 0)
            parts.push(
                `${k}: ${Object.entries(list as Record<string, unknown>)
                    .map(([a, b]) => `${a}=${value(b)}`)
                    .join(",")}`,
            );
    }
    return `    ${id}${parts.length ? `  ${parts.join("  ")}` : ""}\n`;
}

/** The worlds as text, collections of objects only (counters and settings are left out). */
export function renderWorlds(worlds: Partial<Record<DiscoveryCliName, unknown>>): string {
    let text = "";
    for (const [cli, w] of Object.entries(worlds) as [DiscoveryCliName, Record<string, unknown>][]) {
        text += `${CLOUD_OF[cli]} (${cli})\n`;
        for (const [name, collection] of Object.entries(w ?? {})) {
            // The request budget (buckets and counts) is not a collection of the cloud's objects: `--requests` reports it.
            if (name === "budget") continue;
            if (!collection || typeof collection !== "object" || Array.isArray(collection)) continue;
            const entries = Object.entries(collection as Record<string, unknown>).filter(
                ([, o]) => o && typeof o === "object" && !Array.isArray(o),
            );
            if (entries.length === 0) continue;
            text += `  ${name} (${entries.length})\n`;
            for (const [id, o] of entries) text += line(id, o as Record<string, unknown>);
        }
    }
    return text;
}
