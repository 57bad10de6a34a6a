import { FalconHost } from "./falcon";
import { ListedVm, OutputRead } from "./types";

/** How sure discovery is that a VM boot-loops. */
export type Confidence = "high" | "medium" | "low";

/** Where a Windows VM lands in the written inventory. */
export type Bucket =
    /** An entry under `vms:` (high or medium confidence). */
    | "candidate"
    /** Commented out for review: only weak signs (no boot marker, no agent). */
    | "review"
    /** Not running: listed apart, maybe already in a person's hands. */
    | "stopped"
    /** A boot-looping member of a scale group: listed apart, the stack refuses it. */
    | "scale-group"
    /** Boot-looping, but the stack has no rescue path for it (e.g. an instance-store root). */
    | "no-rescue-path"
    /** The Falcon export says it went down, but the cloud shows it healthy now. */
    | "falcon-but-healthy"
    /** Healthy: not written. */
    | "healthy";

/** What discovery concluded about one Windows VM. */
export interface Finding {
    vm: ListedVm;
    bucket: Bucket;
    /** Set for VMs that look boot-looping (candidates and those listed apart). */
    confidence?: Confidence;
    /** Every reason, in the order found: the listing's, the read's, the Falcon row's. */
    reasons: string[];
    /** The Falcon row matched to it, if any. */
    falcon?: FalconHost;
    /** A Falcon export was given and no row of it names this boot-looping VM. */
    notInFalcon?: boolean;
    /** The Falcon row matched by hostname, not by instance id. */
    falconByName?: boolean;
}

/**
 * Whether a Falcon row says too little to speak for a VM on its own: it matched by hostname alone
 * and names no account, subscription or project, so it may be another machine of the same name (a
 * laptop, a VM in a scope not scanned). Such a row neither spares the VM a read nor makes it a
 * candidate; its reason stays beside the entry.
 */
export function weakMatch(falcon: FalconHost | undefined, byName: boolean): boolean {
    return falcon !== undefined && byName && falcon.account === "";
}

/**
 * Whether a per-VM read (console, serial, boot log) can change the verdict: not when the listing
 * and the Falcon export already agree, nor for a VM that is not running or cannot be read. This
 * is what keeps discovery's calls per VM low: in an incident with an export, most VMs need none.
 */
export function needsRead(vm: ListedVm, falcon: FalconHost | undefined, byName = false): boolean {
    if (vm.power !== "running" || !vm.readable || vm.noRescuePath) return false;
    const verdict = weakMatch(falcon, byName) ? undefined : falcon?.verdict;
    if (vm.health === "failing") return verdict !== "affected";
    if (vm.health === "healthy") return verdict === "affected";
    // The listing cannot tell (GCP): the export can, either way (a host that went down in the
    // window and came back was seen since). Read only what it does not settle.
    return verdict === undefined || verdict === "offline";
}

/**
 * Concludes on one Windows VM from its listing, its read (if made) and its Falcon row (if any;
 * `byName` when the row matched by hostname, not instance id).
 */
export function classify(
    vm: ListedVm,
    read: OutputRead | undefined,
    falcon: FalconHost | undefined,
    exportGiven: boolean,
    byName = false,
): Finding {
    const reasons = [...vm.signals, ...(read?.signals ?? [])];
    const weak = weakMatch(falcon, byName);
    const affected = falcon?.verdict === "affected" && !weak;
    if (falcon) reasons.push(falconReason(falcon, weak));
    const by = falcon && byName ? { falconByName: true } : {};
    const finding = (bucket: Bucket, confidence?: Confidence): Finding => {
        const looping = confidence !== undefined;
        const apart: Bucket = vm.noRescuePath ? "no-rescue-path" : vm.scaleGroup ? "scale-group" : bucket;
        if (looping && vm.noRescuePath) reasons.push(vm.noRescuePath);
        if (looping && vm.scaleGroup)
            reasons.push(
                `member of ${vm.scaleGroup.name}: the group would replace it while its disk is swapped; to recover it with the stack, ${vm.scaleGroup.leave}`,
            );
        return {
            vm,
            bucket: looping ? apart : bucket,
            confidence,
            reasons,
            falcon,
            ...by,
            ...(looping && exportGiven && !falcon ? { notInFalcon: true } : {}),
        };
    };
    if (vm.power !== "running") return { vm, bucket: "stopped", reasons: [`not running (${vm.powerState})`, ...reasons], falcon, ...by };
    if (read?.bugcheck) return finding("candidate", "high");
    if (vm.health === "failing") return finding("candidate", affected ? "high" : "medium");
    const healthy = vm.health === "healthy" || read?.booted === true || read?.agent === true || (falcon?.verdict === "healthy" && !weak);
    if (falcon?.verdict === "affected" && healthy) return { vm, bucket: "falcon-but-healthy", reasons, falcon, ...by };
    if (affected) return finding("candidate", "medium");
    // A host of that name went down, maybe this VM: one to confirm, read or not.
    if (weak && falcon?.verdict === "affected") return finding("review", "low");
    if (!healthy && read !== undefined) return finding("review", "low");
    return { vm, bucket: "healthy", reasons, falcon, ...by };
}

function falconReason(h: FalconHost, weak: boolean): string {
    const seen = new Date(h.lastSeen).toISOString().replace(/:\d{2}\.\d{3}Z$/, "Z");
    const line = weak ? `line ${h.line}, matched by hostname alone: the row names no account` : `line ${h.line}`;
    return {
        affected: `Falcon: last seen ${seen}, inside the bad window, not since (${line})`,
        healthy: `Falcon: seen ${seen}, after the bad window (${line})`,
        offline: `Falcon: last seen ${seen}, before the bad window (${line})`,
    }[h.verdict];
}
