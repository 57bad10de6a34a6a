import { parse as parseCsv } from "csv-parse/sync";
import { InputError, Problem, show } from "../../core/contract/problems";

/** The window in which hosts took the faulty channel file (July 2024: 04:09 to 05:27 UTC). */
export interface BadWindow {
    /** When the faulty file went out (ms since the epoch). */
    since: number;
    /** When the reverted file replaced it (ms since the epoch). */
    until: number;
}

/** Channel file 291's window: pushed 2024-07-19 04:09 UTC, reverted 05:27 UTC. */
export const CHANNEL_FILE_291: BadWindow = { since: Date.parse("2024-07-19T04:09:00Z"), until: Date.parse("2024-07-19T05:27:00Z") };

/** What a Falcon host row says about its host, judged against the window. */
export type FalconVerdict =
    /** Last seen inside the window and never since: it took the file and went down. */
    | "affected"
    /** Seen after the window: it came up with the reverted file (or was recovered). */
    | "healthy"
    /** Last seen before the window: it was not online when the file went out. */
    | "offline";

/** One row of a Falcon host export, as far as discovery needs it. */
export interface FalconHost {
    /** One-based line in the file. */
    line: number;
    /** Hostname, lowercase ("" when the row has none). */
    hostname: string;
    /** `aws`, `azure`, `gcp`, "" (the export has no provider column) or `other` (no cloud host). */
    provider: string;
    /** The provider's account, subscription or project id, lowercase ("" when not given). */
    account: string;
    /** The provider's instance id, lowercase ("" when not given). */
    instanceId: string;
    /** Last seen, ms since the epoch. */
    lastSeen: number;
    /** Its verdict against the window. */
    verdict: FalconVerdict;
}

/** A Falcon host export, read and checked. */
export interface FalconExport {
    /** The file as the user named it. */
    file: string;
    /** Every data row. */
    hosts: FalconHost[];
}

/** Header names of each column we read (compared lowercase, without spaces, `_` or `-`). */
const COLUMNS: Record<"hostname" | "provider" | "account" | "instanceId" | "lastSeen", string[]> = {
    hostname: ["hostname", "host", "hostnames", "computername", "devicename"],
    provider: ["cloudprovider", "cloudserviceprovider", "serviceprovider", "provider", "cloud"],
    account: [
        "cloudprovideraccountid",
        "provideraccountid",
        "cloudserviceaccountid",
        "cloudaccountid",
        "accountid",
        "subscriptionid",
        "projectid",
    ],
    instanceId: ["instanceid", "cloudinstanceid", "cloudserviceinstanceid", "providerinstanceid", "cloudproviderinstanceid"],
    lastSeen: ["lastseen", "lastseenutc", "lastseentime"],
};

const PROVIDERS: [RegExp, string][] = [
    [/^(aws|amazon( web services)?|ec2)$/i, "aws"],
    [/^(azure|microsoft( azure)?)$/i, "azure"],
    [/^(gcp|gce|google( cloud( platform)?)?)$/i, "gcp"],
];

/** A hostname or DNS name as Falcon reports it. */
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*$/;
/** Instance ids of every cloud: EC2 ids, Azure VM ids (GUIDs) and names, GCE numeric ids and names. */
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Timestamps Falcon exports carry: ISO 8601, or `YYYY-MM-DD HH:MM[:SS]` read as UTC. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?( ?(Z|UTC|[+-]\d{2}:?\d{2}))?$/;

function normalise(header: string): string {
    return header.toLowerCase().replace(/[\s_-]+/g, "");
}

/** Parses a Falcon timestamp to ms since the epoch, or NaN. */
export function falconTime(text: string): number {
    const t = text.trim();
    if (!TIMESTAMP.test(t)) return NaN;
    const iso = t
        .replace(" UTC", "Z")
        .replace(/UTC$/, "Z")
        .replace(/^(\d{4}-\d{2}-\d{2}) /, "$1T")
        .replace(/ (?=[Z+-])/, "");
    const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : /T/.test(iso) ? `${iso}Z` : `${iso}T00:00:00Z`;
    return Date.parse(withZone);
}

/** The verdict of a host last seen at `lastSeen`. */
export function verdictOf(lastSeen: number, window: BadWindow): FalconVerdict {
    if (lastSeen > window.until) return "healthy";
    if (lastSeen >= window.since) return "affected";
    return "offline";
}

/**
 * Reads a Falcon host export (CSV with a header row; the columns we read are found by name). A
 * malformed row is reported by its line, never echoed whole; any problem throws one
 * {@link InputError} and nothing is used, so nothing partial is ever written from it.
 */
export function parseFalconExport(file: string, text: string, window: BadWindow): FalconExport {
    let rows: { info: { lines: number }; record: string[] }[];
    try {
        rows = parseCsv(text, { info: true, bom: true, trim: true, skip_empty_lines: true, relax_column_count: false }) as typeof rows;
    } catch (err) {
        const e = err as { lines?: number; message: string };
        // csv-parse quotes the offending text in some messages: keep only what it says is wrong.
        throw new InputError([{ file, line: e.lines, message: `not valid CSV: ${e.message.split(/[:\n]/)[0]}` }]);
    }
    if (rows.length === 0) throw new InputError([{ file, message: "empty: expected a Falcon host export with a header row" }]);
    const header = rows[0].record.map(normalise);
    const column = Object.fromEntries(
        Object.entries(COLUMNS).map(([k, names]) => [k, header.findIndex((h) => names.includes(h))]),
    ) as Record<keyof typeof COLUMNS, number>;
    if (column.lastSeen < 0 || (column.hostname < 0 && column.instanceId < 0)) {
        throw new InputError([
            {
                file,
                line: rows[0].info.lines,
                message:
                    "the header needs a Last Seen column and a Hostname or Instance ID column (a Falcon host export: Host Management, Export)",
            },
        ]);
    }
    const problems: Problem[] = [];
    const hosts: FalconHost[] = [];
    for (const row of rows.slice(1)) {
        const line = row.info.lines;
        const cell = (k: keyof typeof COLUMNS) => (column[k] >= 0 ? (row.record[column[k]] ?? "").trim() : "");
        const at = (field: string, message: string) => problems.push({ file, line, field, message });
        const hostname = cell("hostname");
        const instanceId = cell("instanceId");
        const lastSeen = falconTime(cell("lastSeen"));
        const providerText = cell("provider");
        const before = problems.length;
        if (!hostname && !instanceId) at("Hostname", "the row names no host (no hostname and no instance id)");
        if (hostname && (hostname.length > 253 || !HOSTNAME.test(hostname))) at("Hostname", "is not a hostname");
        if (instanceId && !INSTANCE_ID.test(instanceId)) at("Instance ID", "is not an instance id");
        if (Number.isNaN(lastSeen))
            at("Last Seen", `${cell("lastSeen") === "" ? "is empty" : "is not a timestamp"}; expected e.g. 2024-07-19T04:12:33Z`);
        if (problems.length > before) continue;
        // With a provider column, a row without a provider is no cloud host (a laptop, a server on site).
        const provider = column.provider < 0 ? "" : (PROVIDERS.find(([re]) => re.test(providerText))?.[1] ?? "other");
        hosts.push({
            line,
            hostname: hostname.toLowerCase(),
            provider,
            account: cell("account").toLowerCase(),
            instanceId: instanceId.toLowerCase(),
            lastSeen,
            verdict: verdictOf(lastSeen, window),
        });
    }
    if (problems.length > 0) throw new InputError(problems);
    return { file, hosts };
}

/** A VM as Falcon rows are matched against it. */
export interface FalconMatchable {
    cloud: string;
    scope: string;
    hostnames: readonly string[];
    instanceIds: readonly string[];
}

/** How the rows of an export fell on the scanned VMs. */
export interface FalconMatches<V> {
    /** The row matched to each VM it names. */
    byVm: Map<V, FalconHost>;
    /** Rows in the window that named no scanned VM (hosts "not found in the scoped clouds"). */
    unmatched: FalconHost[];
    /** Rows whose hostname names several VMs: not guessed. */
    ambiguous: { host: FalconHost; vms: V[] }[];
    /** VMs whose row (in `byVm`) matched by hostname, not by instance id. */
    byName: Set<V>;
}

/**
 * Matches export rows to VMs: by instance id first (with the provider and account, where the row
 * gives them, agreeing), else by hostname (the whole name or its first DNS label). A hostname that
 * fits several VMs is not guessed. Only rows of clouds being scanned are matched; `inScope` says
 * whether an unmatched row's provider and account were scanned at all.
 */
export function matchFalcon<V extends FalconMatchable>(
    hosts: readonly FalconHost[],
    vms: readonly V[],
    scanned: (provider: string, account: string) => boolean,
): FalconMatches<V> {
    const byId = new Map<string, V[]>();
    const byName = new Map<string, V[]>();
    const add = (map: Map<string, V[]>, key: string, vm: V) => {
        if (!key) return;
        const list = map.get(key) ?? [];
        if (!list.includes(vm)) list.push(vm);
        map.set(key, list);
    };
    for (const vm of vms) {
        for (const id of vm.instanceIds) add(byId, id, vm);
        for (const name of vm.hostnames) {
            add(byName, name, vm);
            add(byName, name.split(".")[0], vm);
        }
    }
    const fits = (h: FalconHost, vm: V) =>
        (h.provider === "" || h.provider === vm.cloud) && (h.account === "" || h.account === vm.scope.toLowerCase());
    const result: FalconMatches<V> = { byVm: new Map(), unmatched: [], ambiguous: [], byName: new Set() };
    for (const h of hosts) {
        const viaId = (byId.get(h.instanceId) ?? []).filter((vm) => fits(h, vm));
        const viaName =
            viaId.length > 0
                ? viaId
                : [...new Set([...(byName.get(h.hostname) ?? []), ...(byName.get(h.hostname.split(".")[0]) ?? [])])].filter((vm) =>
                      fits(h, vm),
                  );
        if (viaName.length === 1) {
            const vm = viaName[0];
            const earlier = result.byVm.get(vm);
            // Several rows for one host (a reinstalled sensor): the latest sighting decides.
            if (!earlier || earlier.lastSeen < h.lastSeen) {
                result.byVm.set(vm, h);
                if (viaId.length > 0) result.byName.delete(vm);
                else result.byName.add(vm);
            }
        } else if (viaName.length > 1) {
            result.ambiguous.push({ host: h, vms: viaName });
        } else if (h.verdict === "affected" && h.provider !== "other" && scanned(h.provider, h.account)) {
            result.unmatched.push(h);
        }
    }
    return result;
}

/** How a host row is shown in the inventory's comments: its line and names, never the whole row. */
export function describeHost(h: FalconHost): string {
    const names = [
        h.hostname && `host ${show(h.hostname)}`,
        h.instanceId && `instance ${show(h.instanceId)}`,
        h.account && `account ${show(h.account)}`,
    ]
        .filter(Boolean)
        .join(", ");
    return `line ${h.line}: ${names}, last seen ${new Date(h.lastSeen).toISOString().replace(/\.000Z$/, "Z")}`;
}
