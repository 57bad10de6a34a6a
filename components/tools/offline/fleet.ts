import { chainStepOf } from "../../core/contract/chain-steps";
import { RecoveryPlan } from "../../core/contract/plan";
import { PlannedResource } from "./capture";
import { REMEDIES } from "../../core/contract/remedies";

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
 * Bytes the engine keeps for a resource besides its properties and dependencies: URN (~140), id,
 * type, parent URN (~120), provider reference (~110), timestamps, custom timeouts and flags, its
 * source position (~60) and registration stack (~170, two frames: registration-trace.ts).
 * Measured with the real engine (the sandbox's dev stack): 955-1,134 bytes per resource.
 */
const RESOURCE_OVERHEAD = 1000;
/** Bytes per dependency (a URN in `dependencies` and again in `propertyDependencies`): 268-381 measured. */
const DEPENDENCY_BYTES = 300;
/**
 * Outputs a cloud resource keeps beyond its inputs (the provider's computed fields: ARNs, self
 * links, sizes, states). The sandbox's stand-in providers keep 0 (attachments) to 1,261 bytes
 * (GCP disks and snapshots), 500 on average over a chain's cloud resources; the real providers
 * keep more fields, so this is a floor.
 */
const COMPUTED_OUTPUT_BYTES = 500;
/**
 * A repair's evidence, packed (deflated with the evidence dictionary, base64), as repair steps
 * print it and a swap that reads it back keeps it: 501 bytes for the demo disk's (4 partitions,
 * one faulty file quarantined, the registry's health; 3,704 bytes as compact JSON, 2,044 as
 * gzip-base64). The file hashes and paths of what was found do not compress: disks with
 * thousands of matching files make far more.
 */
export const PACKED_EVIDENCE_BYTES = 510;
/**
 * The same evidence as a VM's record carries it, abridged (verdict, at most 20 files, the full
 * document's hash and keeper): 693 bytes for the demo disk's.
 */
export const RECORD_EVIDENCE_BYTES = 700;
/**
 * What other commands print: a one-line JSON report of what they observed (status, attempts,
 * timings; 110-160 bytes for swaps and reboots), not the ids they were given.
 */
const REPORT_BYTES = 200;

/**
 * What a command logs on stderr (kept in state too): a line per action, measured with the
 * stand-in CLIs at 250-520 bytes per step (more when it had to retry); an attach logs one line.
 */
const LOG_BYTES = 400;
const ATTACH_LOG_BYTES = 100;

/**
 * A reboot step's log: a line before its first restart and one after its last, about 180 bytes
 * besides the VM's label, which each starts with, and a short line per restart, about 34 bytes
 * (`bootloop-rescue: restart 3 of 15`). Measured with the stand-in CLIs: 710 bytes for 15
 * restarts of `azure rg-app/app-01`. The worst case is the one that matters: a reboot-then-repair
 * VM goes on to its repair only after every restart failed.
 */
export function rebootLogBytes(maxReboots: number, label: string): number {
    return 180 + 34 * maxReboots + 2 * Buffer.byteLength(label);
}

/**
 * What a resource keeps of what it printed: a repair command its evidence (packed); a swap its
 * report, and the evidence too when it reads it back from a repair that keeps no output; an
 * attach nothing; other commands their report. Every command keeps its log (a reboot's grows
 * with its restarts). Other resources print nothing.
 */
function printedBytes(r: PlannedResource, swapKeepsEvidence: boolean): number {
    if (r.type !== "command:local:Command") return 0;
    if (chainStepOf(r.name)?.step === "attach") return ATTACH_LOG_BYTES;
    if (chainStepOf(r.name)?.step === "repair") return PACKED_EVIDENCE_BYTES + LOG_BYTES;
    if (chainStepOf(r.name)?.step === "swap" && swapKeepsEvidence) return REPORT_BYTES + PACKED_EVIDENCE_BYTES + LOG_BYTES;
    if (chainStepOf(r.name)?.step === "reboot") {
        const env = (r.inputs.environment ?? {}) as Record<string, string | undefined>;
        return REPORT_BYTES + rebootLogBytes(Number(env.MAX_REBOOTS ?? 0), String(env.VM_LABEL ?? ""));
    }
    return REPORT_BYTES + LOG_BYTES;
}

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
    const { perVm, sharedBytes } = estimateStateByVm(resources, plan);
    let maxVm = "";
    let maxVmBytes = 0;
    let total = 0;
    for (const [slug, bytes] of perVm) {
        total += bytes;
        if (bytes > maxVmBytes) [maxVm, maxVmBytes] = [slugs.get(slug)!, bytes];
    }
    return { perVmBytes: Math.round(total / Math.max(1, perVm.size)), maxVmBytes, maxVm, sharedBytes };
}

/** The estimate per VM (by slug: its chain and its record) and for what the VMs share. */
export function estimateStateByVm(
    resources: readonly PlannedResource[],
    plan: RecoveryPlan,
): { perVm: ReadonlyMap<string, number>; sharedBytes: number } {
    // Each VM's record in the stack outputs: identity, status, disks, timings, and its evidence,
    // abridged, when its chain repairs a disk.
    const perVm = new Map<string, number>(
        plan.vms.map((v) => [v.slug, 800 + (!v.rollback && REMEDIES[v.strategy].repairs ? RECORD_EVIDENCE_BYTES : 0)]),
    );
    let shared = 0;
    // The evidence is printed once, by a command: the repair, when it is one (its output stays in
    // state), or else the swap, which reads it back from the repair (whose output state does not
    // keep: a Run Command's is read from its instance view).
    const commandRepairs = new Set(
        resources
            .filter((r) => r.type === "command:local:Command" && chainStepOf(r.name)?.step === "repair")
            .map((r) => chainStepOf(r.name)!.stem),
    );
    const repairs = new Set(resources.filter((r) => chainStepOf(r.name)?.step === "repair").map((r) => chainStepOf(r.name)!.stem));
    // The offline plan's resource ids are short placeholders (`<name>-id`); the clouds' are as long
    // as the VM's original disk id (an Azure resource id is about 150 bytes): count them so.
    const idLength = new Map(plan.vms.map((v) => [v.slug, v.originalDiskId.length]));
    for (const r of resources) {
        // The VM a resource belongs to: its chain step's stem (a retried step ends in its attempt: `-repair2`).
        const slug = chainStepOf(r.name)?.stem ?? r.name;
        const text = JSON.stringify(r.inputs);
        const placeholders = text.match(/[a-z0-9-]+-id"/g) ?? [];
        const cloudIdLength = idLength.get(slug) ?? 40;
        const props = Buffer.byteLength(text) + placeholders.reduce((n, p) => n + Math.max(0, cloudIdLength - p.length), 0);
        // A cloud resource's own id is the cloud's (a command's is short, as the overhead counts).
        const command = r.type.startsWith("command:");
        const ownId = command ? 0 : Math.max(0, cloudIdLength - 40);
        const bytes =
            RESOURCE_OVERHEAD +
            ownId +
            (command ? 0 : COMPUTED_OUTPUT_BYTES) +
            2 * props +
            printedBytes(r, repairs.has(slug) && !commandRepairs.has(slug)) +
            DEPENDENCY_BYTES * r.dependsOn.length;
        if (perVm.has(slug)) perVm.set(slug, perVm.get(slug)! + bytes);
        else shared += bytes;
    }
    return { perVm, sharedBytes: shared };
}
