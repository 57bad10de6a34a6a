// The ground floor of the sandbox's stand-in providers: real Pulumi resource providers (served by
// @pulumi/pulumi/provider over gRPC, attached to the real engine with PULUMI_DEBUG_PROVIDERS) whose
// resources and lookups live in the simulated cloud's world files, the same files the stand-in
// CLIs (sandbox/cli/) read and rewrite. Each cloud declares what it serves as data: per resource
// type, what creating, reading, updating and deleting does to the world, and which input changes
// make the real provider replace the resource; per invoke, its answer. Anything else is refused
// with its name, never answered silently.
import { AsyncLocalStorage } from "async_hooks";
import * as grpc from "@grpc/grpc-js";
import * as provider from "@pulumi/pulumi/provider";
import { ResourceProviderService } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { ConfigureRequest } from "@pulumi/pulumi/proto/provider_pb";

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
    /**
     * What one provider instance (an explicit provider resource, or the default one) acts with,
     * from the configuration the engine's Configure sends it: its variables without the
     * `<package>:config:` prefix, each value a string (lists and objects JSON-encoded, as the
     * engine sends them to every provider). Throws the real provider's error for a configuration
     * it refuses. Set: every resource operation and lookup of the instance sees what this returned
     * ({@link instanceSettings}). Unset: the provider has no per-instance configuration.
     */
    readonly configure?: (config: Readonly<Record<string, string>>) => unknown;
}

/** The settings of the provider instance the call in progress came for. */
const instanceCall = new AsyncLocalStorage<{ settings: unknown }>();

/**
 * What the provider's `configure` returned for the instance the call in progress came for;
 * undefined outside a call from the engine (a test driving {@link providerOf} directly).
 */
export const instanceSettings = <T>(): T | undefined => instanceCall.getStore()?.settings as T | undefined;

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

/** The engine's configuration of one provider instance: Configure's variables, its args for what they lack. */
export function configOf(name: string, request: ConfigureRequest): Record<string, string> {
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.getArgs()?.toJavaScript() ?? {}))
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    const prefix = `${name}:config:`;
    for (const [key, value] of request.getVariablesMap().entries()) if (key.startsWith(prefix)) config[key.slice(prefix.length)] = value;
    return config;
}

/** The calls that act as one provider instance (resource operations and lookups). */
const INSTANCE_CALLS = new Set(["create", "read", "update", "delete", "invoke"]);

/**
 * The settings every configured instance shares, when they all share the same: what a call on a
 * connection the engine opened anew (a client that went idle reconnects from another port, and is
 * not configured again) must be for. Undefined when none is configured or they differ.
 */
function onlyOne(instances: ReadonlyMap<string, { settings: unknown }>): { settings: unknown } | undefined {
    const all = [...instances.values()];
    const first = all[0];
    return first && all.every((i) => JSON.stringify(i.settings) === JSON.stringify(first.settings)) ? first : undefined;
}

type Handler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/**
 * The provider server's handlers, routed per provider instance: the engine talks to each instance
 * (an explicit provider, or the default one) over a connection of its own, even to one debug
 * process, so Configure's settings are kept per connection (the caller's address) and every
 * resource operation and lookup on that connection runs with them. A call on a connection the
 * engine never configured runs with the settings every configured instance shares, and is refused
 * when they differ: never answered with another instance's settings. A connection whose Configure
 * failed has every call refused, whatever the others' settings.
 */
function routedByInstance(standIn: StandInProvider, configure: NonNullable<StandInProvider["configure"]>, server: object) {
    const impl = server as Record<string, Handler | undefined>;
    const instances = new Map<string, { settings: unknown }>();
    // Connections whose Configure failed (an unassumable role), with why: their calls are refused
    // with it, never run with the settings other instances share.
    const refusedPeers = new Map<string, string>();
    const routed: Record<string, Handler> = {};
    for (const method of Object.keys(ResourceProviderService)) {
        const original = impl[method]?.bind(server);
        if (!original) continue;
        if (method === "configure")
            routed[method] = (call, callback) => {
                const request = call.request as ConfigureRequest;
                const peer = call.getPeer();
                try {
                    instances.set(peer, { settings: configure(configOf(standIn.name, request)) });
                    refusedPeers.delete(peer);
                } catch (err) {
                    const details = err instanceof Error ? err.message : String(err);
                    instances.delete(peer);
                    refusedPeers.set(peer, details);
                    callback({ code: grpc.status.UNKNOWN, details });
                    return;
                }
                original(call, callback);
            };
        else if (INSTANCE_CALLS.has(method))
            routed[method] = (call, callback) => {
                const refusal = refusedPeers.get(call.getPeer());
                if (refusal !== undefined) {
                    callback({
                        code: grpc.status.FAILED_PRECONDITION,
                        details: `the sandbox's stand-in ${standIn.name} provider refused ${method}: this instance's Configure failed (${refusal})`,
                    });
                    return;
                }
                const instance = instances.get(call.getPeer()) ?? onlyOne(instances);
                if (!instance)
                    callback({
                        code: grpc.status.FAILED_PRECONDITION,
                        details: `the sandbox's stand-in ${standIn.name} provider got ${method} on a connection (${call.getPeer()}) the engine never configured, and the ${instances.size} instances it configured do not all act alike: it cannot tell which provider instance (account) the call is for`,
                    });
                else instanceCall.run(instance, () => original(call, callback));
            };
        else routed[method] = original;
    }
    return routed;
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
    const configure = standIn.configure;
    if (!configure) return provider.main(providerOf(standIn), process.argv.slice(2));
    // The SDK's server (provider.main) keeps Configure to itself; the service it adds, while it
    // adds it (synchronously, before main's first await), is routed per instance instead.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the server it belongs to as `this`
    const addService = grpc.Server.prototype.addService;
    let routed = false;
    grpc.Server.prototype.addService = function (this: grpc.Server, service, implementation) {
        if (service !== ResourceProviderService) return addService.call(this, service, implementation);
        routed = true;
        return addService.call(this, service, routedByInstance(standIn, configure, implementation));
    };
    try {
        const serving = provider.main(providerOf(standIn), process.argv.slice(2));
        if (!routed)
            throw new Error(
                `the sandbox's stand-in ${standIn.name} provider could not route its calls per provider instance (the SDK's server added no ResourceProvider service through @grpc/grpc-js): refusing to act for every instance in one account`,
            );
        return serving;
    } finally {
        grpc.Server.prototype.addService = addService;
    }
}
