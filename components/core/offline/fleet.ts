import { RecoveryPlan } from "../plan/plan";
import { PlannedResource } from "./capture";

/**
 * The `--parallel` to give `pulumi up`: one operation per chain in flight (each chain's steps run
 * one after another), one per rescue VM of the pools, and a few for what they share (providers,
 * roles, documents, wave gates). More only queues work inside the runner; fewer slows the fleet.
 */
export function recommendedParallel(plan: RecoveryPlan, maxInFlight: number): number {
    const rescueVms = plan.rescuePools.reduce((n, p) => n + p.members.length, 0);
    const widestWave = Math.max(0, ...plan.waves.map((w) => w.vms.length));
    return Math.min(maxInFlight, widestWave) + rescueVms + 10;
}

/**
 * Bytes Pulumi keeps for a resource besides its properties, in a compact checkpoint: URN (~150),
 * id (~40), type (~40), parent URN (~150), provider reference (~250), timestamps and flags (~150).
 */
const RESOURCE_OVERHEAD = 800;
/** Bytes per dependency (a URN in `dependencies` and again in `propertyDependencies`). */
const DEPENDENCY_BYTES = 220;
/**
 * A repair's evidence document: 2,867 bytes for the demo disk (4 partitions, one faulty file
 * quarantined); 5,000 matching files make far more.
 */
const EVIDENCE_BYTES = 2900;
/** The same, gzip-base64 (1,636 bytes for the demo's), as repair steps print it and the Azure swap keeps it. */
const PACKED_EVIDENCE_BYTES = 1650;
/** What other commands print: a one-line JSON report. */
const REPORT_BYTES = 400;

/** The state estimate of a plan: per VM (its own resources and its record), and what VMs share. */
export interface StateEstimate {
    /** Average bytes per VM of its own resources and its record in the stack outputs. */
    perVmBytes: number;
    /** The largest VM's bytes. */
    maxVmBytes: number;
    /** The VM with the most, by label. */
    maxVm: string;
    /** Bytes of shared resources (rescue VMs, providers, roles, documents), all VMs together. */
    sharedBytes: number;
}

/**
 * Estimates the checkpoint a `pulumi up` of the plan leaves: every resource keeps its inputs and
 * its outputs (which repeat the inputs), plus what its commands printed (evidence, reports) and
 * Pulumi's own overhead; each VM also has its record in the stack outputs. A self-hosted state
 * backend rewrites all of it after every step, so this is what stays small per VM.
 */
export function estimateState(resources: readonly PlannedResource[], plan: RecoveryPlan): StateEstimate {
    const slugs = new Map(plan.vms.map((v) => [v.slug, v.label]));
    // Each VM's record in the stack outputs: identity, status, disks, timings, and its evidence
    // when its chain repairs a disk.
    const perVm = new Map<string, number>(plan.vms.map((v) => [v.slug, 800 + (!v.rollback && (v.strategy === "repair" || v.strategy === "reboot-then-repair") ? EVIDENCE_BYTES : 0)]));
    let shared = 0;
    // The offline plan's resource ids are short placeholders (`<name>-id`); the clouds' are as long
    // as the VM's original disk id (an Azure resource id is about 150 bytes): count them so.
    const idLength = new Map(plan.vms.map((v) => [v.slug, v.originalDiskId.length]));
    for (const r of resources) {
        const slug = r.name.replace(/-[a-z]+$/, "");
        const text = JSON.stringify(r.inputs);
        const placeholders = text.match(/[a-z0-9-]+-id"/g) ?? [];
        const props = Buffer.byteLength(text) + placeholders.reduce((n, p) => n + Math.max(0, (idLength.get(slug) ?? 40) - p.length), 0);
        // A command keeps what it printed (a repair: the evidence, packed); a Run Command does not
        // keep its output (the evidence is read from its instance view, outside the state).
        const printed = r.type === "command:local:Command" ? (r.name.endsWith("-repair") ? PACKED_EVIDENCE_BYTES : REPORT_BYTES) : 0;
        // A swap that keeps the evidence (Azure's) has it in its environment: an input, and so an
        // output too (the plan shows a placeholder for it).
        const carried = r.name.endsWith("-swap") && "EVIDENCE" in ((r.inputs.environment as Record<string, unknown> | undefined) ?? {}) ? 2 * PACKED_EVIDENCE_BYTES : 0;
        const bytes = RESOURCE_OVERHEAD + 2 * props + printed + carried + DEPENDENCY_BYTES * r.dependsOn.length;
        if (perVm.has(slug)) perVm.set(slug, perVm.get(slug)! + bytes);
        else shared += bytes;
    }
    let maxVm = "";
    let maxVmBytes = 0;
    let total = 0;
    for (const [slug, bytes] of perVm) {
        total += bytes;
        if (bytes > maxVmBytes) [maxVm, maxVmBytes] = [slugs.get(slug)!, bytes];
    }
    return { perVmBytes: Math.round(total / Math.max(1, perVm.size)), maxVmBytes, maxVm, sharedBytes: shared };
}
