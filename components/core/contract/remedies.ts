// The remedies an inventory entry can ask for, and what each one does: one table that planning,
// declaring, the offline plan and the report read instead of testing strategy names themselves.

/** The remedies an entry can ask for. */
export const STRATEGIES = ["repair", "reboot", "reboot-then-repair", "restore"] as const;

/**
 * One remedy: `repair` (offline disk repair), `reboot` (restart until it boots), `reboot-then-repair`
 * (restarts first, the repair chain for a VM they did not bring back), `restore` (disk from a backup).
 */
export type Strategy = (typeof STRATEGIES)[number];
