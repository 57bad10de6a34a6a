import { CloudIdentity } from "../../core/contract/identity";
import { VmEntry } from "../../core/contract/vm";
import { KeyRow } from "./key-export";

/** The keys an export holds for the inventory's VMs, and what matched nothing. */
export interface KeyMatch {
    /** Per VM key: the VM and its key-file lines (`[KEY-ID] PASSWORD`, each password once), in file order. */
    keys: Map<string, { vm: VmEntry; lines: string[]; rows: number[] }>;
    /** Rows naming no VM of the inventory (by line and machine; an export covers more than one incident). */
    unmatched: { line: number; machine: string }[];
    /** Rows whose machine names more than one VM: nothing is stored for them. */
    ambiguous: { line: number; machine: string; vms: string[] }[];
    /** Lines of rows that repeat an earlier row's key for the same VM. */
    duplicates: number[];
    /** VMs of the inventory no row matched. */
    withoutKey: VmEntry[];
}

/** How a name compares: lowercase, the first label of a DNS name (`APP-01.corp.example` → `app-01`). */
const nameKey = (name: string) => name.trim().toLowerCase().split(".")[0];

/**
 * The names a VM answers to in a key export: its inventory `hostname` (the Windows computer name),
 * and its cloud name (VM name, instance name, or instance id).
 */
export function vmNames(vm: VmEntry, identity: CloudIdentity): string[] {
    return [...new Set([vm.hostname, identity.shortName(vm.fields)].filter((n): n is string => !!n).map(nameKey))];
}

/** Matches export rows to VMs by name (see {@link vmNames}). */
export function matchKeys(rows: readonly KeyRow[], vms: readonly VmEntry[], identities: ReadonlyMap<string, CloudIdentity>): KeyMatch {
    const byName = new Map<string, VmEntry[]>();
    for (const vm of vms) {
        for (const name of vmNames(vm, identities.get(vm.cloud)!)) byName.set(name, [...(byName.get(name) ?? []), vm]);
    }
    const match: KeyMatch = { keys: new Map(), unmatched: [], ambiguous: [], duplicates: [], withoutKey: [] };
    for (const row of rows) {
        const found = byName.get(nameKey(row.machine)) ?? [];
        if (found.length === 0) {
            match.unmatched.push({ line: row.line, machine: row.machine });
            continue;
        }
        if (found.length > 1) {
            match.ambiguous.push({ line: row.line, machine: row.machine, vms: found.map((v) => v.label) });
            continue;
        }
        const vm = found[0];
        const entry = match.keys.get(vm.key) ?? { vm, lines: [], rows: [] };
        if (entry.lines.some((l) => l.endsWith(row.password))) {
            match.duplicates.push(row.line);
            continue;
        }
        entry.lines.push(row.keyId ? `${row.keyId} ${row.password}` : row.password);
        entry.rows.push(row.line);
        match.keys.set(vm.key, entry);
    }
    match.withoutKey = vms.filter((vm) => !match.keys.has(vm.key));
    return match;
}
