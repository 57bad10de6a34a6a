import { WaveSettings } from "../contract/plan";

/** The facts wave assignment needs about a VM. */
export interface WaveCandidate {
    /** Canonical VM key. */
    key: string;
    /** Position in the inventory: the order canaries are taken in. */
    index: number;
    /** Wave set in the inventory, which always wins. */
    wave?: number;
}

/** Number of canary VMs out of `n` VMs without an explicit wave. */
export function canaryCount(settings: WaveSettings, n: number): number {
    if ("count" in settings.canary) return Math.min(settings.canary.count, n);
    const p = settings.canary.percent;
    return p <= 0 ? 0 : Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
}

/**
 * Assigns a wave to every VM: explicit waves are kept; the others, in inventory order, fill the
 * canary wave 0 and then waves of `waveSize` from 1 on (so listing a VM first makes it the canary).
 * Deterministic: the same inventory and settings give the same waves.
 */
export function assignWaves(vms: readonly WaveCandidate[], settings: WaveSettings): Map<string, number> {
    const result = new Map<string, number>();
    const unassigned = vms.filter((v) => v.wave === undefined).sort((a, b) => a.index - b.index);
    for (const v of vms) if (v.wave !== undefined) result.set(v.key, v.wave);
    const canaries = canaryCount(settings, unassigned.length);
    const first = canaries > 0 ? 1 : 0;
    unassigned.forEach((v, i) => {
        const later = i - canaries;
        const wave = later < 0 ? 0 : settings.waveSize ? first + Math.floor(later / settings.waveSize) : first;
        result.set(v.key, wave);
    });
    return result;
}
