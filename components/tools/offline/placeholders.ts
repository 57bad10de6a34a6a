// The values the offline plan invented. No cloud is called offline, so every lookup is answered by
// its cloud path with placeholders (account ids, zones, disk ids, restore points…). The plan shows
// them marked as such, never as facts: a cloud's offline answer lists what it invented, the run
// collects those lists, and the renderers ask which values are placeholders.

/** The key under which an offline lookup's answer lists the values it invented (the run removes it). */
export const PLACEHOLDERS_KEY = "offlinePlaceholders";

/** What an offline answer lists under {@link PLACEHOLDERS_KEY}. */
export interface PlaceholderList {
    /** The invented values, as they appear in the answer. */
    values: string[];
    /** Keys of the VMs they were invented for; absent when they stand for no VM in particular. */
    vms?: string[];
}

/**
 * An offline lookup's answer with the values it invented listed (for `vms`, the VMs they stand
 * for; without, any). Empty or undefined values are left out.
 */
export function withPlaceholders<T extends Record<string, unknown>>(
    answer: T,
    values: readonly (string | undefined)[],
    vms?: readonly string[],
): T {
    const list: PlaceholderList = {
        values: values.filter((v): v is string => typeof v === "string" && v !== ""),
        ...(vms ? { vms: [...vms] } : {}),
    };
    return { ...answer, [PLACEHOLDERS_KEY]: list };
}

/**
 * An offline restore-point answer (`offlineRestorePoints`) with its invented values listed: the
 * time each point was taken, and its id unless the inventory named it (restoreFrom, `named`).
 * `idOf` gives the forms the plan shows an id in (e.g. a snapshot's name and its full path).
 */
export function offlineRestoreAnswer(
    answer: { stdout: string; stderr: string },
    named: string | undefined,
    idOf: (id: string) => string[] = (id) => [id],
): Record<string, unknown> {
    const points = JSON.parse(answer.stdout) as { id: string; createdAt: string }[];
    // The time as the answer gives it, and as the plan shows it (whole seconds, `Z`).
    const times = (at: string) => [
        at,
        ...(isNaN(Date.parse(at)) ? [] : [new Date(Date.parse(at)).toISOString().replace(/\.\d{3}Z$/, "Z")]),
    ];
    return withPlaceholders(
        answer,
        points.flatMap((p) => [...times(p.createdAt), ...(named ? [] : idOf(p.id))]),
    );
}

/** The placeholders of one offline run. */
export class OfflinePlaceholders {
    private readonly anyVm = new Set<string>();
    private readonly perVm = new Map<string, Set<string>>();
    private readonly all = new Set<string>();
    private readonly facts = new Set<string>();

    /** Records values the inventory states (facts, even where a lookup invented the same text for another VM). */
    addFacts(values: readonly unknown[]): void {
        for (const value of values) if (typeof value === "string" && value !== "") this.facts.add(value);
    }

    /** Records values invented for `vms` (undefined: for any VM). */
    add(values: readonly string[], vms?: readonly string[]): void {
        for (const value of values) {
            this.all.add(value);
            if (!vms) this.anyVm.add(value);
            for (const vm of vms ?? []) {
                const set = this.perVm.get(vm) ?? new Set<string>();
                set.add(value);
                this.perVm.set(vm, set);
            }
        }
    }

    /** Takes an answer's list out of it (the program sees the answer as a cloud would give it) and records it. */
    collect(answer: Record<string, unknown>): Record<string, unknown> {
        const list = answer[PLACEHOLDERS_KEY] as PlaceholderList | undefined;
        if (!list) return answer;
        this.add(list.values, list.vms);
        const rest = { ...answer };
        delete rest[PLACEHOLDERS_KEY];
        return rest;
    }

    /**
     * Whether `value` was invented: for the VM `vmKey` (what was invented for it, or for any VM),
     * or, without one, for some VM and stated by no inventory entry (resource inputs, which VMs
     * share, and where a value of the inventory is taken as what it says).
     */
    is(value: unknown, vmKey?: string): boolean {
        if (typeof value !== "string" || value === "") return false;
        if (vmKey === undefined) return this.all.has(value) && !this.facts.has(value);
        return this.anyVm.has(value) || (this.perVm.get(vmKey)?.has(value) ?? false);
    }

    /**
     * The paths (`a.b`, `list[0].c`) under `value` whose strings are placeholders (for `vmKey`, as
     * in {@link is}), in document order.
     */
    paths(value: unknown, vmKey?: string, at = ""): string[] {
        if (this.is(value, vmKey)) return [at];
        if (Array.isArray(value)) return value.flatMap((v, i) => this.paths(v, vmKey, `${at}[${i}]`));
        if (value && typeof value === "object")
            return Object.entries(value).flatMap(([k, v]) => this.paths(v, vmKey, at ? `${at}.${k}` : k));
        return [];
    }
}
