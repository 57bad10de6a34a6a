// The ground floor of the sandbox's stand-in providers: real Pulumi resource providers (served by
// @pulumi/pulumi/provider over gRPC, attached to the real engine with PULUMI_DEBUG_PROVIDERS) whose
// resources and lookups live in the simulated cloud's world files, the same files the stand-in
// CLIs (sandbox/cli/) read and rewrite. Each cloud declares what it serves as data: per resource
// type, what creating, reading, updating and deleting does to the world, and which input changes
// make the real provider replace the resource; per invoke, its answer. Anything else is refused
// with its name, never answered silently.
import * as provider from "@pulumi/pulumi/provider";

/** A JSON value as the engine sends it, secrets and resource references still wrapped. */
export type Props = Record<string, unknown>;

/** What a stand-in does for one resource type. Inputs reach it plain (secrets unwrapped). */
export interface StandInResource {
    /**
     * Input properties whose change makes the real provider replace the resource (ForceNew in
     * the upstream schema), each list with where it was read. Every other change is an update.
     */
    readonly replaceOn: readonly string[];
    /** Creates it in the world: its id and the outputs the real provider adds to the inputs. */
    create(inputs: Props, urn: string): Promise<{ id: string; outs?: Props }> | { id: string; outs?: Props };
    /** Its outputs as the world holds them now, or undefined when it is gone (refresh). Default: unchanged. */
    read?(id: string, props: Props): Promise<Props | undefined> | Props | undefined;
    /** Applies an in-place change; returns outputs to add. Default: the new inputs are the state. */
    update?(id: string, olds: Props, news: Props): Promise<Props | void> | Props | void;
    /** Deletes it from the world (the engine asks only for what it means to delete). */
    delete?(id: string, props: Props): Promise<void> | void;
}

/** A lookup (data source): plain arguments in, the answer out; throws the cloud's error when not found. */
export type StandInInvoke = (args: Props) => Promise<Props> | Props;

/** One call the engine makes of a provider, as its budget sees it. */
export interface ProviderCall {
    /** What the engine asked: a resource's create, read (refresh), update or delete, or an invoke. */
    op: "create" | "read" | "update" | "delete" | "invoke";
    /** The resource type or invoke token. */
    token: string;
    /** The resource's id (read, update, delete). */
    id?: string;
    /** Plain inputs (create, update: the new ones; invoke: its arguments) or the state's outputs (read, delete). */
    props: Props;
}

/** One stand-in provider: the package it stands in for and everything it serves. */
export interface StandInProvider {
    /** The package name the engine asks for (`aws`, `azure-native`, `gcp`, `command`). */
    readonly name: string;
    /** The version it reports: the version of the SDK package this project pins. */
    readonly version: string;
    /** Resource types by token (`aws:ebs/snapshot:Snapshot`). */
    readonly resources: Readonly<Record<string, StandInResource>>;
    /** Invokes by token (`aws:ec2/getInstance:getInstance`). */
    readonly invokes: Readonly<Record<string, StandInInvoke>>;
    /** What the engine's cancel (Ctrl-C) does: end the work in flight. */
    readonly cancel?: () => void;
    /**
     * Spends the API requests a call makes from the cloud's budget (sandbox/world/requests.ts)
     * before it acts, waiting out throttling as the real provider retries it; rejects with the
     * cloud's throttling error when the retries run out. Undefined when nothing was throttled, so
     * the operation goes on in the same turn (what a caller sees of the world right after starting it).
     */
    readonly meter?: (call: ProviderCall) => Promise<void> | undefined;
}

/** The signature the engine marks secrets with, and the one for resource references. */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
/** A value the engine does not know yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A value with secrets unwrapped and resource references replaced by their id (or URN). */
export function plain(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === "object") {
        const v = value as Record<string, unknown>;
        if (v[SIG] === SECRET_SIG) return plain(v.value);
        if (v[SIG] === RESOURCE_SIG) return v.id ?? v.urn;
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return value;
}

const plainProps = (p: unknown): Props => (plain(p ?? {}) as Props) ?? {};

/** What goes back to the engine: JSON only (a protobuf Struct refuses undefined, functions and class instances). */
const wire = (p: Props): Props => JSON.parse(JSON.stringify(p)) as Props;

/** The resource type a URN names (`urn:pulumi:stack::project::parent$type::name` → type). */
export function typeOfUrn(urn: string): string {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}

/** Whether a value holds something the engine does not know yet. */
function hasUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(hasUnknown);
    if (value && typeof value === "object") return Object.values(value).some(hasUnknown);
    return false;
}

/** The input properties a change touches: those whose new value differs from the state's. */
export function changedKeys(olds: Props, news: Props): string[] {
    const o = plainProps(olds);
    const n = plainProps(news);
    return Object.keys(n)
        .filter((k) => hasUnknown(n[k]) || JSON.stringify(n[k]) !== JSON.stringify(o[k]))
        .sort();
}

/** The Pulumi provider that serves `standIn`: what `provider.main` runs. */
export function providerOf(standIn: StandInProvider): provider.Provider {
    const kind = (urn: string): StandInResource => {
        const type = typeOfUrn(urn);
        const found = standIn.resources[type];
        if (!found) throw new Error(`the sandbox's stand-in ${standIn.name} provider does not serve resource type ${type}`);
        return found;
    };
    return {
        version: standIn.version,
        check: async (urn, _olds, news) => {
            await Promise.resolve(kind(urn));
            return { inputs: news as Props };
        },
        diff: async (_id, urn, olds, news) => {
            const replaceOn = await Promise.resolve(kind(urn).replaceOn);
            const changed = changedKeys(olds as Props, news as Props);
            return { changes: changed.length > 0, replaces: changed.filter((k) => replaceOn.includes(k)) };
        },
        create: async (urn, inputs) => {
            const metered = standIn.meter?.({ op: "create", token: typeOfUrn(urn), props: plainProps(inputs) });
            if (metered) await metered;
            const made = await kind(urn).create(plainProps(inputs), urn);
            return { id: made.id, outs: wire({ ...(inputs as Props), ...(made.outs ?? {}) }) };
        },
        read: async (id, urn, props) => {
            const k = kind(urn);
            const metered = standIn.meter?.({ op: "read", token: typeOfUrn(urn), id, props: plainProps(props) });
            if (metered) await metered;
            if (!k.read) return { id, props: props as Props };
            const now = await k.read(id, plainProps(props));
            // Undefined fields are dropped before the merge, so they never erase what the state holds.
            return now === undefined ? {} : { id, props: wire({ ...(props as Props), ...wire(now) }) };
        },
        update: async (id, urn, olds, news) => {
            const metered = standIn.meter?.({
                op: "update",
                token: typeOfUrn(urn),
                id,
                props: { ...plainProps(olds), ...plainProps(news) },
            });
            if (metered) await metered;
            const added = (await kind(urn).update?.(id, plainProps(olds), plainProps(news))) ?? {};
            return { outs: wire({ ...(olds as Props), ...(news as Props), ...wire(added) }) };
        },
        delete: async (id, urn, props) => {
            const metered = standIn.meter?.({ op: "delete", token: typeOfUrn(urn), id, props: plainProps(props) });
            if (metered) await metered;
            await kind(urn).delete?.(id, plainProps(props));
        },
        cancel: () => {
            standIn.cancel?.();
            return Promise.resolve();
        },
        invoke: async (token, args) => {
            const answer = standIn.invokes[token];
            if (!answer) throw new Error(`the sandbox's stand-in ${standIn.name} provider does not serve invoke ${token}`);
            const metered = standIn.meter?.({ op: "invoke", token, props: plainProps(args) });
            if (metered) await metered;
            return { outputs: wire(await answer(plainProps(args))) };
        },
    };
}

/** Serves `standIn` on a free port (printed on stdout for the engine's PULUMI_DEBUG_PROVIDERS). */
export function serve(standIn: StandInProvider): Promise<void> {
    // The sandbox holds this process's stdin; when the sandbox ends, even killed, stdin closes and
    // so does the provider (it runs in a process group of its own, which no Ctrl-C reaches).
    if (!process.stdin.isTTY)
        process.stdin
            .on("end", () => process.exit(0))
            .on("close", () => process.exit(0))
            .resume();
    return provider.main(providerOf(standIn), process.argv.slice(2));
}
