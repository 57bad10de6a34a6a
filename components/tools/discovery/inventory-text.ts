import { stringify } from "yaml";
import { terminalText } from "../display-text";
import { CloudIdentity } from "../../core/contract/identity";
import { HOSTNAME } from "../../core/inventory/entry-fields";
import { Bucket, Finding } from "./classify";
import { Discovery, scopeTitle } from "./discover";
import { describeHost } from "./falcon";

/** What the written inventory says about where it came from. */
export interface InventoryTextOptions {
    /** When discovery ran (ISO), for the header. */
    at: string;
    /** One line saying what was scanned (clouds, scopes, the Falcon export). */
    scanned: string;
    /** Each cloud's label key for its scope (`account`, `subscription`, `project`). */
    scopeLabels: ReadonlyMap<string, string>;
    /** Every cloud the inventory knows, to check each entry's fields before it is written. */
    identities: readonly CloudIdentity[];
}

/** The inventory discovery writes, and the facts the report repeats. */
export interface DiscoveredInventory {
    /** The YAML text, or undefined when no VM is a candidate (a valid inventory lists at least one). */
    text?: string;
    /** The candidates in the order written: the canary first. */
    candidates: Finding[];
    /** The canary's zone (`aws 111111111111 us-east-1a`), when there is a candidate. */
    canaryZone?: string;
    /** VMs whose names cannot be written as inventory fields (listed in a comment only). */
    unwritable: Finding[];
}

const CONFIDENCE_ORDER = { high: 0, medium: 1, low: 2 } as const;

/**
 * A comment line's text: a line break becomes `?` (a hostile VM name must not start a YAML line),
 * and nothing a terminal acts on is left (escape sequences, control and bidi characters, see
 * {@link terminalText}); at most 1,000 characters (a cloud name is at most 256; the reasons are ours).
 */
export function commentText(text: string): string {
    // eslint-disable-next-line no-control-regex -- control characters are what this replaces
    const clean = terminalText(text.replace(/[\r\n\u2028\u2029\u0085]/g, "?")).replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
    return clean.length > 1000 ? `${clean.slice(0, 997)}...` : clean;
}

/** A label value from the cloud (an account alias, a subscription or project name): terminal-safe, at most 256 characters. */
function labelText(text: string): string {
    return terminalText(text).trim().slice(0, 256);
}

/** Where a finding's VM sits, as the canary is chosen: cloud, scope, region and zone. */
function zoneOf(f: Finding): string {
    return [f.vm.cloud, f.vm.scope, f.vm.zone || `${f.vm.region} (no zone)`].join(" ");
}

/** `1 candidate`, `2 candidates`. */
function count(n: number, what: string): string {
    return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function sortKey(f: Finding): string {
    return [f.vm.cloud, f.vm.scope, f.vm.region, f.vm.zone, f.vm.name, JSON.stringify(f.vm.fields)].join("\n");
}

/**
 * The computer name an entry carries (`npm run import-keys` matches keys by it): the cloud's, else
 * the Falcon row's when that row matched by instance id or its hostname is one of the cloud's own
 * names; a row matched by a shorter or longer form of a name does not rename the VM.
 */
function hostnameOf(f: Finding): string | undefined {
    const falcon = f.falcon?.hostname && (!f.falconByName || f.vm.hostnames.includes(f.falcon.hostname)) ? f.falcon.hostname : undefined;
    return [f.vm.computerName, falcon].find((h) => h !== undefined && h !== "" && h.length <= 253 && HOSTNAME.test(h));
}

/** The inventory entry of a finding: its cloud's fields, its computer name, and labels naming its scope. */
function entryOf(f: Finding, scopeLabel: string): Record<string, unknown> {
    const hostname = hostnameOf(f);
    const labels: Record<string, string> = { [scopeLabel]: f.vm.scope };
    const scopeName = labelText(f.vm.scopeName);
    if (scopeName && scopeName !== f.vm.scope) labels[`${scopeLabel}Name`] = scopeName;
    if (f.confidence) labels.discovered = f.confidence;
    return { cloud: f.vm.cloud, ...(f.vm.os ? { os: f.vm.os } : {}), ...f.vm.fields, ...(hostname ? { hostname } : {}), labels };
}

function fits(f: Finding, identities: ReadonlyMap<string, CloudIdentity>): boolean {
    const identity = identities.get(f.vm.cloud);
    if (!identity) return false;
    return identity.fields.every((spec) =>
        f.vm.fields[spec.name] === undefined ? !spec.required : spec.pattern.test(f.vm.fields[spec.name]),
    );
}

function reasonLine(f: Finding, prefix = ""): string {
    const confidence = f.confidence ? `confidence ${f.confidence}: ` : "";
    const falcon = f.notInFalcon ? "; not in the Falcon list" : "";
    return commentText(`${prefix}${confidence}${f.vm.name} ${f.reasons.join("; ")}${falcon}`);
}

/** A YAML list item for an entry, indented under `vms:`, each line prefixed (`# ` for entries listed apart). */
function entryLines(entry: Record<string, unknown>, prefix: string): string[] {
    return stringify([entry], { lineWidth: 0, flowCollectionPadding: true })
        .trimEnd()
        .split("\n")
        .map((l) => `${prefix}  ${l}`);
}

const APART: { bucket: Bucket; title: string[] }[] = [
    {
        bucket: "scale-group",
        title: [
            "Boot-looping members of scale groups. The stack refuses them: the group would replace an instance whose",
            "OS disk is being swapped. Let the group replace them, or take them out of it (each comment says how) and",
            "move them under vms:.",
        ],
    },
    { bucket: "no-rescue-path", title: ["Boot-looping VMs the stack has no rescue path for (see docs on the manual path):"] },
    {
        bucket: "review",
        title: [
            "Low confidence: no boot marker since the last start and no sign of the agent, but no stop error seen.",
            "Move an entry under vms: once you have confirmed it (serial console, screenshot).",
        ],
    },
    {
        bucket: "stopped",
        title: [
            "Windows VMs that are not running: maybe already in a person's hands, so never mixed in.",
            "To recover one with the stack, move its entry under vms:.",
        ],
    },
];

/**
 * Writes discovery's findings as an inventory: the candidates under `vms:` (the canary first: one
 * VM of the zone with the most candidates), each with its reasons and confidence in a comment and
 * labels naming its account, subscription or project; everything listed apart as commented
 * entries; a summary per scope and zone at the top.
 */
export function inventoryText(d: Discovery, opts: InventoryTextOptions): DiscoveredInventory {
    const identities = new Map(opts.identities.map((i) => [i.cloud, i]));
    const label = (f: Finding) => opts.scopeLabels.get(f.vm.cloud) ?? "scope";
    const sorted = [...d.findings].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const unwritable = sorted.filter((f) => f.bucket !== "healthy" && !fits(f, identities));
    const writable = sorted.filter((f) => fits(f, identities));
    const candidates = writable.filter((f) => f.bucket === "candidate");

    // The canary: the most common zone's most certain VM.
    const perZone = new Map<string, number>();
    for (const f of candidates) perZone.set(zoneOf(f), (perZone.get(zoneOf(f)) ?? 0) + 1);
    const canaryZone = [...perZone.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
    const canary = candidates
        .filter((f) => zoneOf(f) === canaryZone)
        .sort((a, b) => CONFIDENCE_ORDER[a.confidence!] - CONFIDENCE_ORDER[b.confidence!])[0];
    const ordered = canary ? [canary, ...candidates.filter((f) => f !== canary)] : [];

    const inBucket = (b: Bucket) => d.findings.filter((f) => f.bucket === b).length;
    const high = candidates.filter((f) => f.confidence === "high").length;
    const lines = [
        `# Written by \`npm run discover\` at ${opts.at}. Review it before \`npm run plan\` and \`pulumi up\`:`,
        "# each entry under vms: is a Windows VM found boot-looping, with its reasons and confidence in the comment above it.",
        `# ${commentText(opts.scanned)}`,
        "#",
        "# Summary per scope (candidates per zone; VMs listed apart are at the end, commented out):",
    ];
    for (const s of d.scopes) {
        const zones = Object.entries(s.candidatesByZone)
            .sort((a, b) => a[0].localeCompare(b[0]))
            .map(([z, n]) => `${z} ${n}`)
            .join(", ");
        const total = Object.values(s.candidatesByZone).reduce((a, b) => a + b, 0);
        lines.push(
            commentText(
                `#   ${scopeTitle(s)}: ${s.vms === undefined ? "" : `${s.vms} VMs, `}${s.windows} Windows${s.linux ? `, ${s.linux} Linux` : ""}; ${count(total, "candidate")}${zones ? ` (${zones})` : ""}; ${s.stopped} not running; ${s.apart} listed apart`,
            ),
        );
    }
    lines.push(
        `# Total: ${count(candidates.length, "candidate")} (${high} high, ${candidates.length - high} medium confidence); ${inBucket("stopped")} not running; ${inBucket("scale-group")} in scale groups; ${inBucket("no-rescue-path")} without a rescue path; ${inBucket("review")} low confidence${d.falconUnmatched.length ? `; ${count(d.falconUnmatched.length, "Falcon host")} not found` : ""}.`,
    );
    if (canary) {
        lines.push(
            "#",
            commentText(
                `# The first entry is the suggested canary: ${canary.vm.name}, in ${canaryZone}, the zone with the most candidates.`,
            ),
            "# With the stack's canary: 1 it must boot and verify before any other VM starts.",
        );
    }
    lines.push("vms:");
    for (const f of ordered) {
        lines.push(`  # ${reasonLine(f, f === canary ? "canary. " : "")}`);
        lines.push(...entryLines(entryOf(f, label(f)), ""));
    }

    const apart = (title: string[], body: string[]) => {
        if (body.length === 0) return;
        lines.push("", ...title.map((t) => `# ${t}`), ...body);
    };
    for (const section of APART) {
        const body: string[] = [];
        for (const f of writable.filter((x) => x.bucket === section.bucket))
            body.push(`#   # ${reasonLine(f)}`, ...entryLines(entryOf(f, label(f)), "#  "));
        apart(section.title, body);
    }
    apart(
        ["In the Falcon export as down in the bad window, but running and healthy now (they came back): not included."],
        d.findings.filter((f) => f.bucket === "falcon-but-healthy").map((f) => `#   ${reasonLine(f)}`),
    );
    apart(
        ["Falcon hosts down in the bad window that match no VM in the scanned scopes (another account, region, cloud?):"],
        d.falconUnmatched.map((h) => `#   ${commentText(describeHost(h))}`),
    );
    apart(
        ["Falcon hosts whose name fits several VMs (not guessed; add the right one by hand):"],
        d.falconAmbiguous.map((a) => `#   ${commentText(`${describeHost(a.host)}: ${a.vms.join(", ")}`)}`),
    );
    apart(
        ["VMs whose names cannot be written as inventory fields (recover them by hand):"],
        unwritable.map((f) => `#   ${commentText(`${f.vm.cloud} ${f.vm.scope} ${f.vm.name}: ${f.reasons.join("; ")}`)}`),
    );
    return { text: ordered.length > 0 ? `${lines.join("\n")}\n` : undefined, candidates: ordered, canaryZone, unwritable };
}
