import * as pulumi from "@pulumi/pulumi";

/** One resource the program registered, as the offline plan shows it. */
export interface PlannedResource {
    /** Resource type token, e.g. `aws:ebs/snapshot:Snapshot`. */
    type: string;
    /** Logical name. */
    name: string;
    /** Logical name of the parent, if any. */
    parent?: string;
    /** Names of the resources it depends on, explicitly (`dependsOn`) and through its inputs; sorted. */
    dependsOn: string[];
    /** The `protect` option. */
    protect: boolean;
    /** The `retainOnDelete` option. */
    retainOnDelete: boolean;
    /** Properties whose changes are ignored (`ignoreChanges`): what a later `up` never re-diffs. */
    ignoreChanges: string[];
    /** Resolved inputs; every secret value shown as `"[secret]"`. */
    inputs: Record<string, unknown>;
}

interface Captured {
    resource: pulumi.Resource;
    type: string;
    name: string;
    parent?: pulumi.Resource;
    protect: boolean;
    retainOnDelete: boolean;
    ignoreChanges: string[];
    /** Kept only when details are wanted: they hold every input's Output graph alive. */
    props?: pulumi.Inputs;
    dependsOn?: pulumi.ResourceOptions["dependsOn"];
}

/**
 * Records every resource registered under a root component through a `transformations` hook
 * (Pulumi's mocks do not see resource options, so this is where parent, dependsOn, protect and
 * retainOnDelete are read).
 */
export class ResourceCapture {
    private readonly captured: Captured[] = [];
    private readonly names = new Map<pulumi.Resource, string>();

    /** @param details keep inputs and dependencies for {@link resources} (costs memory at scale). */
    constructor(private readonly details = true) {}

    /** The hook to put in the root component's `transformations`. */
    readonly transformation: pulumi.ResourceTransformation = (args) => {
        this.captured.push({
            resource: args.resource,
            type: args.type,
            name: args.name,
            parent: args.opts.parent,
            protect: args.opts.protect === true,
            retainOnDelete: args.opts.retainOnDelete === true,
            ignoreChanges: [...(args.opts.ignoreChanges ?? [])],
            ...(this.details ? { props: args.props, dependsOn: args.opts.dependsOn } : {}),
        });
        this.names.set(args.resource, args.name);
        return undefined;
    };

    /** Number of resources registered so far (components included). */
    get count(): number {
        return this.captured.length;
    }

    /** Type, name, parent and retention options of every captured resource (cheap: nothing resolved). */
    tree(): { type: string; name: string; parent?: string; retainOnDelete: boolean; protect: boolean }[] {
        return this.captured.map((c) => ({
            type: c.type,
            name: c.name,
            parent: c.parent ? this.nameOf(c.parent) : undefined,
            retainOnDelete: c.retainOnDelete,
            protect: c.protect,
        }));
    }

    /** Waits until the engine (here: the mocks) has answered every registration. */
    async settled(): Promise<void> {
        await Promise.all(this.captured.map((c) => promiseOf(c.resource.urn)));
    }

    /** Every captured resource with options, dependencies and resolved inputs. */
    async resources(): Promise<PlannedResource[]> {
        if (!this.details) throw new Error("internal: this capture keeps no details");
        await this.settled();
        const out: PlannedResource[] = [];
        for (const c of this.captured) {
            const deps = new Set<string>();
            for (const d of await explicitDependencies(c.dependsOn)) deps.add(this.nameOf(d));
            for (const r of await inputDependencies(c.props)) if (r !== c.resource) deps.add(this.nameOf(r));
            out.push({
                type: c.type,
                name: c.name,
                parent: c.parent ? this.nameOf(c.parent) : undefined,
                dependsOn: [...deps].sort(),
                protect: c.protect,
                retainOnDelete: c.retainOnDelete,
                ignoreChanges: c.ignoreChanges,
                inputs: (await resolveInputs(c.props)) as Record<string, unknown>,
            });
        }
        return out;
    }

    private nameOf(r: pulumi.Resource): string {
        return this.names.get(r) ?? "(outside the program root)";
    }
}

/** The promise inside an Output (the SDK keeps it on every Output it makes). */
function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return (o as unknown as { promise(): Promise<T> }).promise();
}

async function explicitDependencies(dependsOn: pulumi.ResourceOptions["dependsOn"]): Promise<pulumi.Resource[]> {
    if (!dependsOn) return [];
    const list = await promiseOf(pulumi.output(dependsOn as pulumi.Input<pulumi.Input<pulumi.Resource>[]>));
    return Array.isArray(list) ? list : [list];
}

async function inputDependencies(value: unknown, into = new Set<pulumi.Resource>()): Promise<Set<pulumi.Resource>> {
    if (pulumi.Output.isInstance(value)) {
        for (const r of await pulumi.getAllResources(value)) into.add(r);
        await inputDependencies(await promiseOf(value), into);
    } else if (value instanceof Promise) {
        await inputDependencies(await value, into);
    } else if (Array.isArray(value)) {
        for (const v of value) await inputDependencies(v, into);
    } else if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        for (const v of Object.values(value)) await inputDependencies(v, into);
    }
    return into;
}

/** Resolves Inputs deeply; secrets become `"[secret]"`, resources their logical names' placeholders. */
export async function resolveInputs(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        if (await pulumi.isSecret(value)) return "[secret]";
        return resolveInputs(await promiseOf(value));
    }
    if (value instanceof Promise) return resolveInputs(await value);
    if (Array.isArray(value)) return Promise.all(value.map(resolveInputs));
    if (pulumi.Resource.isInstance(value)) return "[resource]";
    if (value && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            if (v !== undefined) out[k] = await resolveInputs(v);
        }
        return out;
    }
    return value;
}
