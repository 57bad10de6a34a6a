// The remedies an inventory entry can ask for, and what each one does: one table that planning,
// declaring and the offline plan read instead of testing strategy names themselves.

/** The remedies an entry can ask for. */
export const STRATEGIES = ["repair", "reboot", "reboot-then-repair", "restore"] as const;

/**
 * One remedy: `repair` (offline disk repair), `reboot` (restart until it boots), `reboot-then-repair`
 * (restarts first, the repair chain for a VM they did not bring back), `restore` (disk from a backup).
 */
export type Strategy = (typeof STRATEGIES)[number];

/** What a remedy does to a VM: the facts planning, declaring and the offline plan act on. */
export interface Remedy {
    /** It restarts the VM first, and waits for a real boot signal after each restart. */
    reboots: boolean;
    /** Its chain repairs a copy of the OS disk offline, on a seat of a rescue VM (so it may need BitLocker keys). */
    repairs: boolean;
    /** Its chain swaps in a disk made from a backup: what the VM wrote after that backup is lost. */
    restores: boolean;
}

/** Every remedy, by strategy: the one place that says which one restarts, repairs or restores. */
export const REMEDIES: Readonly<Record<Strategy, Remedy>> = {
    repair: { reboots: false, repairs: true, restores: false },
    reboot: { reboots: true, repairs: false, restores: false },
    "reboot-then-repair": { reboots: true, repairs: true, restores: false },
    restore: { reboots: false, repairs: false, restores: true },
};
