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

/** The most retries an inventory entry may ask for (`retry:`). */
export const MAX_RETRY = 99;

/**
 * Steps a retry declares anew (`retry:` on the VM's entry): what runs after the disk is in reach.
 * The backup, the scratch copy and its attachment stay as they are (the retry repairs the same
 * scratch copy again, which the engine does idempotently); a `reboot` step is retried only when it
 * is the whole chain (strategy `reboot`), never before a repair.
 */
export const RETRIED_STEPS: readonly ChainStep[] = ["repair", "fixed", "restored", "swap"];

/**
 * The name of a VM's chain step resource: `<vm resource name>-<step>`, and `<vm resource name>-<step>N`
 * for attempt N > 1; the step is typed, so no cloud spells a name of its own.
 */
export function chainStepName(stem: string, step: ChainStep, attempt = 1): string {
    return attempt > 1 ? `${stem}-${step}${attempt}` : `${stem}-${step}`;
}

/**
 * The name of one step of a VM's chain, with the attempt its entry's `retry:` asks for on the steps
 * a retry declares anew: a new name is a new resource, so `pulumi up` runs that step again for this
 * VM alone (the step it replaces is dropped; a kept disk stays in the cloud, forgotten by the stack).
 */
export function vmStepName(vm: { slug: string; strategy: string; retry?: number }, step: ChainStep): string {
    const retried = RETRIED_STEPS.includes(step) || (step === "reboot" && vm.strategy === "reboot");
    return chainStepName(vm.slug, step, retried ? 1 + (vm.retry ?? 0) : 1);
}

/**
 * A resource name split into its VM's stem, its chain step and the attempt it belongs to (1, or the
 * `N` of a retried step's `<stem>-<step>N`), or undefined for any other resource.
 */
export function chainStepOf(name: string): { stem: string; step: ChainStep; attempt: number } | undefined {
    const m = /^(.+)-([a-z]+?)([1-9][0-9]{0,2})?$/.exec(name);
    if (!m || !(CHAIN_STEPS as readonly string[]).includes(m[2])) return undefined;
    const attempt = m[3] === undefined ? 1 : Number(m[3]);
    return attempt === 1 && m[3] !== undefined ? undefined : { stem: m[1], step: m[2] as ChainStep, attempt };
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
