// The names the policy pack shares with the program: a VM chain's steps (`<vm resource name>-<step>`),
// the wave gates (`wave-<n>-gate`) and the role tags on disks and rescue VMs. The pack is published
// and run on its own (`pulumi policy publish`, server-side enforcement), so it keeps its own copy
// instead of importing the program's components/core/contract/chain-steps.ts; test/policy/standalone.test.ts
// holds the two equal.

/** A chain's steps in the order they run (a chain has some of them, by strategy). */
export const CHAIN_STEPS = ["reboot", "backup", "scratch", "attach", "repair", "fixed", "restored", "swap", "rollback"] as const;
/** One step of a VM's chain. */
export type ChainStep = (typeof CHAIN_STEPS)[number];

/** Steps whose disks outlive the stack (declared with retainOnDelete) and carry their step as role. */
export const KEPT_DISK_STEPS: readonly ChainStep[] = ["backup", "fixed", "restored"];

/** The one disk step the stack deletes (at teardown). */
export const SCRATCH_DISK_STEP: ChainStep = "scratch";

/** The tag (AWS) and label/tag (Azure, GCP) a disk or rescue VM of the stack names its role with. */
export const ROLE_TAGS = ["bootloop-rescue:role", "bootloop-rescue-role"] as const;

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

/** The wave of a gate's name (`wave-<n>-gate`), or undefined for any other name. */
export function waveOfGate(name: string): number | undefined {
    const m = /^wave-(\d{1,6})-gate$/.exec(name);
    return m ? Number(m[1]) : undefined;
}
