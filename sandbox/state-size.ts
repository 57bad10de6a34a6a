// What a stack's state weighs per VM, from `pulumi stack export` and the stack's `vms` output: each
// resource counted as compact JSON, each VM's chain (its steps' resources, named from its stem)
// and its record in the stack's `vms` output, by cloud and strategy, and the rest (the rescue
// fleet, wave gates, components, providers) as shared. The bound the design sets is 20 KB
// (20 KiB here) per VM, shared payloads included.
import { shortHash } from "../components/core/contract/identity";
import { chainStepOf } from "../components/core/contract/chain-steps";

/** The bound per VM (bytes), shared resources included (docs/design.md#small-state). */
export const STATE_BOUND_PER_VM = 20 * 1024;

/** One resource of `pulumi stack export`'s `deployment.resources`. */
export interface ExportedResource {
    /** The resource's URN (its name is after the last `::`). */
    urn: string;
    /** Its type token (`aws:ebs/snapshot:Snapshot`). */
    type: string;
    /** Everything else the engine keeps of it (inputs, outputs, dependencies, …), weighed too. */
    [field: string]: unknown;
}

/** A VM as the stack's `vms` output records it. */
export interface VmRecordForSize {
    /** The VM's cloud (`aws`, `azure`, `gcp`). */
    cloud: string;
    /** Its remedy (`repair`, `reboot`, …). */
    strategy: string;
}

/** The weights of one group of chains (one cloud and strategy). */
export interface ChainGroupSize {
    /** The chains' cloud. */
    cloud: string;
    /** Their remedy. */
    strategy: string;
    /** How many VMs. */
    vms: number;
    /** Bytes of one chain, on average. */
    bytesPerVm: number;
}

/** The state's weight. */
export interface StateSize {
    /** VMs in the stack's `vms` output. */
    vms: number;
    /** Resources in the state (components, providers and the stack included). */
    resources: number;
    /** Every resource, as compact JSON. */
    totalBytes: number;
    /** Everything not in a VM's chain. */
    sharedBytes: number;
    /** Every resource's bytes divided by the VMs. */
    totalPerVm: number;
    /** Each cloud and strategy's chains, one VM's on average (its record in the stack's outputs included). */
    groups: ChainGroupSize[];
    /** Chain resources whose stem matched no VM of the output (none, in a healthy stack). */
    unmatchedBytes: number;
}

/** Weighs `resources` against the VMs of the `vms` output (keyed by VM key). */
export function stateSize(resources: readonly ExportedResource[], vms: Readonly<Record<string, VmRecordForSize>>): StateSize {
    // A chain's stem ends with the hash of its VM's cloud and key (core/contract/identity.ts vmSlug).
    const byHash = new Map(Object.entries(vms).map(([key, vm]) => [shortHash(`${vm.cloud}\n${key}`), key]));
    const perVm = new Map<string, number>();
    let totalBytes = 0;
    let sharedBytes = 0;
    let unmatchedBytes = 0;
    const add = (key: string, bytes: number) => perVm.set(key, (perVm.get(key) ?? 0) + bytes);
    for (const r of resources) {
        let bytes = Buffer.byteLength(JSON.stringify(r));
        totalBytes += bytes;
        if (r.type === "pulumi:pulumi:Stack") {
            // The stack's `vms` output holds one record per VM: each is its VM's, not shared.
            const records = ((r.outputs as Record<string, unknown> | undefined)?.vms ?? {}) as Record<string, unknown>;
            for (const [key, record] of Object.entries(records))
                if (key in vms) {
                    const own = Buffer.byteLength(JSON.stringify(record)) + Buffer.byteLength(JSON.stringify(key)) + 2;
                    add(key, own);
                    bytes -= own;
                }
        }
        const name = r.urn.slice(r.urn.lastIndexOf("::") + 2);
        const step = r.type.startsWith("bootloop-rescue:") ? undefined : chainStepOf(name);
        if (!step) {
            sharedBytes += bytes;
            continue;
        }
        const key = byHash.get(step.stem.slice(step.stem.lastIndexOf("-") + 1));
        if (key === undefined) unmatchedBytes += bytes;
        else add(key, bytes);
    }
    const groups = new Map<string, { cloud: string; strategy: string; vms: number; bytes: number }>();
    for (const [key, vm] of Object.entries(vms)) {
        const id = `${vm.cloud}/${vm.strategy}`;
        const g = groups.get(id) ?? { cloud: vm.cloud, strategy: vm.strategy, vms: 0, bytes: 0 };
        g.vms += 1;
        g.bytes += perVm.get(key) ?? 0;
        groups.set(id, g);
    }
    const count = Object.keys(vms).length;
    return {
        vms: count,
        resources: resources.length,
        totalBytes,
        sharedBytes,
        totalPerVm: count === 0 ? 0 : Math.round(totalBytes / count),
        groups: [...groups.values()]
            .sort((a, b) => a.cloud.localeCompare(b.cloud) || a.strategy.localeCompare(b.strategy))
            .map((g) => ({ cloud: g.cloud, strategy: g.strategy, vms: g.vms, bytesPerVm: Math.round(g.bytes / g.vms) })),
        unmatchedBytes,
    };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The weights as text: the total per VM against the bound, then each cloud and strategy's chain. */
export function renderStateSize(size: StateSize): string {
    const lines = [
        `${size.vms} VMs, ${size.resources} resources, ${kb(size.totalBytes)} of state (compact JSON): ${kb(size.totalPerVm)} per VM ` +
            `(bound ${kb(STATE_BOUND_PER_VM)}: ${size.totalPerVm <= STATE_BOUND_PER_VM ? "within" : "OVER"})`,
        `shared (rescue fleet, wave gates, components, providers): ${kb(size.sharedBytes)}`,
        "one VM's own chain and record, by cloud and strategy:",
        ...size.groups.map((g) => `  ${g.cloud.padEnd(6)} ${g.strategy.padEnd(19)} ${String(g.vms).padStart(5)} VMs  ${kb(g.bytesPerVm)}`),
    ];
    if (size.unmatchedBytes > 0) lines.push(`chain resources of no VM in the output: ${kb(size.unmatchedBytes)}`);
    return `${lines.join("\n")}\n`;
}
