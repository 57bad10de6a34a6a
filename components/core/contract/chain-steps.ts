// The names a VM's chain and the waves give their resources: `<vm resource name>-<step>` and
// `wave-<n>-gate`. Each cloud names its steps with chainStepName; the watch and the policy pack read
// progress and structure back from them.

/** A chain's steps in the order they run (a chain has some of them, by strategy). */
export const CHAIN_STEPS = ["reboot", "backup", "scratch", "attach", "repair", "fixed", "restored", "swap", "rollback"] as const;
export type ChainStep = (typeof CHAIN_STEPS)[number];

/** Steps whose disks outlive the stack (declared with retainOnDelete) and carry their step as role. */
export const KEPT_DISK_STEPS: readonly ChainStep[] = ["backup", "fixed", "restored"];

/** The one disk step the stack deletes (at teardown). */
export const SCRATCH_DISK_STEP: ChainStep = "scratch";

/** The name of a VM's chain step resource: `<vm resource name>-<step>`; the step is typed, so no cloud spells a name of its own. */
export function chainStepName(stem: string, step: ChainStep): string {
    return `${stem}-${step}`;
}

/** A resource name split into its VM's stem and its chain step, or undefined for any other resource. */
export function chainStepOf(name: string): { stem: string; step: ChainStep } | undefined {
    const cut = name.lastIndexOf("-");
    const step = name.slice(cut + 1) as ChainStep;
    return cut > 0 && CHAIN_STEPS.includes(step) ? { stem: name.slice(0, cut), step } : undefined;
}

/** The resource every chain of wave `wave` (after the first) waits for. */
export function waveGateName(wave: number): string {
    return `wave-${wave}-gate`;
}

/** The wave of a gate's name, or undefined for any other name. */
export function waveOfGate(name: string): number | undefined {
    const m = /^wave-(\d{1,6})-gate$/.exec(name);
    return m ? Number(m[1]) : undefined;
}
