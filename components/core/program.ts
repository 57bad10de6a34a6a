import * as pulumi from "@pulumi/pulumi";
import * as pulumiRuntimeConfig from "@pulumi/pulumi/runtime/config";
import { CloudIdentity } from "./contract/identity";
import { InputError, Problem, show } from "./contract/problems";
import { readInventory } from "./inventory/read";
import { validateInventory } from "./inventory/validate";
import { VmEntry } from "./contract/vm";
import { readSettings } from "./settings";
import { NAMESPACE, ConfigSource, Settings } from "./contract/settings";
import { Recovery, RecoveryResult } from "./recovery";
import { CloudPath } from "./contract/cloud-path";
import { RecoveryPlan } from "./contract/plan";
import { VmRecord } from "./vm-chain";
import { REMEDIES } from "./contract/remedies";
import { inventoryContext } from "./inventory/context";
import { rateShareEnvironment, setStackScriptEnvironment } from "./rate-share";

/** What the program needs from its surroundings; index.ts passes the real ones, tests their own. */
export interface ProgramArgs {
    /** Every cloud the inventory format knows. */
    identities: readonly CloudIdentity[];
    /** The cloud paths built in this version. */
    paths: readonly CloudPath[];
    /** Stack config. */
    config: ConfigSource;
    /** Stack config file name, for messages (`Pulumi.dev.yaml`). */
    stackFile: string;
    /** Folder the inventory path is relative to (the project folder). */
    baseDir: string;
    /** Reads a secret config value by fully qualified key. */
    secret(this: void, key: string): pulumi.Output<string>;
    /** Resource options of the root component (tests and the offline plan add a `transformations` hook). */
    rootOptions?: pulumi.ComponentResourceOptions;
    /** Called with the validated entries before anything is declared (the offline plan's placeholders use them). */
    onValidated?(vms: readonly VmEntry[]): void;
}

/** The stack outputs. */
export interface ProgramOutputs {
    /** The plan in brief: waves and rescue VMs per zone. */
    plan: PlanSummary;
    /** One record per VM, keyed by VM key. */
    vms: Record<string, VmRecord>;
}

/** The plan as stack output and offline-plan JSON. */
export interface PlanSummary {
    /** Waves in order, each with its VMs' labels. */
    waves: { wave: number; vms: string[] }[];
    /** Rescue VMs per zone. */
    rescuePools: {
        cloud: string;
        scope: string;
        region: string;
        zone: string;
        capacity: number;
        rescueVms: { name: string; vms: string[] }[];
    }[];
}

/**
 * The program: settings and inventory are read and validated first (any problem stops it before
 * one resource is declared), then the recovery is declared.
 */
export async function recover(args: ProgramArgs): Promise<ProgramOutputs & { result: RecoveryResult; settings: Settings }> {
    const built = new Map(args.paths.map((p) => [p.identity.cloud, p]));
    const settings = readSettings(args.config, args.stackFile, new Map([...built].map(([c, p]) => [c, p.disksPerRescue])));
    const vms = loadInventory(settings.inventory, args.baseDir, args.identities, args.paths, args.config);
    args.onValidated?.(vms);
    const problems: Problem[] = [];
    const rollback = rollbackKeys(settings.rollback, vms, args.stackFile, problems);
    requireDataLossAcknowledgement(settings, vms, rollback, args.stackFile, problems);
    // Each cloud in use validates its own config now, still before anything is declared.
    const cloudConfigs = configureClouds(args.paths, vms, args.config, args.stackFile, problems);
    if (problems.length > 0) throw new InputError(problems);
    // The lookups (before anything is declared) and every command carry the stack's share of the
    // scopes' budgets, so each starts its watcher with it (base.sh names the watcher by it).
    setStackScriptEnvironment(settings.rateShare);
    const rootOptions = withStepEnvironment(args.rootOptions, rateShareEnvironment(settings.rateShare));
    const { result } = await Recovery.create(
        "recovery",
        {
            vms,
            paths: args.paths,
            settings: { ...settings, rollback },
            cloudConfigs,
            secret: args.secret,
            inventoryFile: settings.inventory,
        },
        rootOptions,
    );
    return { plan: summarize(result.plan), vms: result.records, result, settings };
}

/** The resource type of every step's command (the command provider's local command). */
const COMMAND_TYPE = "command:local:Command";

/** What every step's command line runs (script-text.ts, `scriptCommandLine`): a cloud's script through core's run.sh. */
const STEP_RUNNER = "./components/core/scripts/run.sh ";

/**
 * The root component's options with a transformation, first in line, that adds `extra` to the
 * environment of every step command the stack declares (all of them are under the root, each
 * runs a cloud's script through run.sh), whatever cloud declared it; the wave gates, which call
 * no cloud, are left as they are. `options` unchanged when `extra` is empty (the default share
 * adds nothing, so the stacks of earlier versions see no change).
 */
export function withStepEnvironment(
    options: pulumi.ComponentResourceOptions | undefined,
    extra: Readonly<Record<string, string>>,
): pulumi.ComponentResourceOptions | undefined {
    if (Object.keys(extra).length === 0) return options;
    const addEnvironment: pulumi.ResourceTransformation = (args) => {
        if (args.type !== COMMAND_TYPE) return undefined;
        const create = (args.props as { create?: unknown }).create;
        if (typeof create === "string" && !create.includes(STEP_RUNNER)) return undefined;
        const given = (args.props as { environment?: pulumi.Input<Record<string, pulumi.Input<string>>> }).environment;
        // Every step builds its environment as a plain object; one given as an Output or a promise is
        // merged once known.
        const environment =
            pulumi.Output.isInstance(given) || given instanceof Promise
                ? pulumi.output(given).apply((e) => ({ ...e, ...extra }))
                : { ...given, ...extra };
        return { props: { ...args.props, environment }, opts: args.opts };
    };
    return { ...options, transformations: [addEnvironment, ...(options?.transformations ?? [])] };
}

/**
 * Each cloud's own settings, read and validated for the clouds the inventory uses; a bad value is
 * a problem naming the stack file and key, added to `problems`.
 */
export function configureClouds(
    paths: readonly CloudPath[],
    vms: readonly VmEntry[],
    config: ConfigSource,
    stackFile: string,
    problems: Problem[],
): Map<string, unknown> {
    const built = new Map(paths.map((p) => [p.identity.cloud, p]));
    const cloudConfigs = new Map<string, unknown>();
    for (const cloud of new Set(vms.map((v) => v.cloud))) {
        try {
            cloudConfigs.set(cloud, built.get(cloud)!.configure(config, stackFile));
        } catch (err) {
            if (!(err instanceof InputError)) throw err;
            problems.push(...err.problems);
        }
    }
    return cloudConfigs;
}

/**
 * Reads and validates an inventory file the way every run does (`pulumi up`, `npm run plan`,
 * `npm run shard`): one InputError with every problem, naming the file, entry, line and field.
 */
export function loadInventory(
    file: string,
    baseDir: string,
    identities: readonly CloudIdentity[],
    paths: readonly CloudPath[],
    config: ConfigSource,
): VmEntry[] {
    return validateInventory(readInventory(file, baseDir), inventoryContext(identities, paths, config));
}

/**
 * The keys of the VMs `rollback` names (by label or key, without regard to letter case); a name
 * that matches no VM of the inventory is a problem naming the stack file and key.
 */
function rollbackKeys(names: Settings["rollback"], vms: readonly VmEntry[], stackFile: string, problems: Problem[]): Settings["rollback"] {
    if (names === "all") return names;
    const byName = new Map<string, string>();
    for (const vm of vms) {
        byName.set(vm.key.toLowerCase(), vm.key);
        byName.set(vm.label.toLowerCase(), vm.key);
    }
    const keys: string[] = [];
    for (const name of names) {
        const key = byName.get(name.toLowerCase());
        if (key) keys.push(key);
        else
            problems.push({
                file: stackFile,
                field: `${NAMESPACE}:rollback`,
                message: `${show(name)} is not a VM of the inventory; name a VM by its label (e.g. ${show(vms[0]?.label ?? "aws us-east-1/i-…")}) or key, or use all`,
            });
    }
    return keys;
}

/** Strategy restore loses what was written after the backup: the stack must say it accepts that. */
function requireDataLossAcknowledgement(
    settings: Settings,
    vms: readonly VmEntry[],
    rollback: Settings["rollback"],
    stackFile: string,
    problems: Problem[],
): void {
    if (settings.acceptDataLoss) return;
    const restoring = vms.filter((v) => REMEDIES[v.strategy].restores && rollback !== "all" && !rollback.includes(v.key));
    if (restoring.length === 0) return;
    const shown =
        restoring
            .slice(0, 3)
            .map((v) => `vms[${v.index}] ${v.label}`)
            .join(", ") + (restoring.length > 3 ? ` and ${restoring.length - 3} more` : "");
    problems.push({
        file: stackFile,
        field: `${NAMESPACE}:acceptDataLoss`,
        message: `strategy restore replaces the OS disk with a backup, and data written after that backup is lost (${shown}); review the recovery-point age in \`npm run plan\`, then set \`pulumi config set acceptDataLoss true\``,
    });
}

/** Brief form of a plan, with labels instead of keys. */
export function summarize(plan: RecoveryPlan): PlanSummary {
    const label = new Map(plan.vms.map((v) => [v.key, v.label]));
    return {
        waves: plan.waves.map((w) => ({ wave: w.wave, vms: w.vms.map((k) => label.get(k)!) })),
        rescuePools: plan.rescuePools.map((p) => ({
            cloud: p.cloud,
            ...p.placement,
            capacity: p.capacity,
            rescueVms: p.members.map((m) => ({ name: m.name, vms: m.vms.map((k) => label.get(k)!) })),
        })),
    };
}

/** Stack config through the Pulumi SDK. */
export function pulumiConfig(): ConfigSource {
    // isConfigSecret is exported by the runtime but not declared in its typings.
    const runtimeConfig = pulumiRuntimeConfig as unknown as { isConfigSecret(k: string): boolean };
    const split = (key: string) => {
        const i = key.indexOf(":");
        return { ns: key.slice(0, i), name: key.slice(i + 1) };
    };
    return {
        get: (key) => {
            const { ns, name } = split(key);
            return new pulumi.Config(ns).get(name);
        },
        kind: (key) => {
            const { ns, name } = split(key);
            if (new pulumi.Config(ns).get(name) === undefined) return "missing";
            return runtimeConfig.isConfigSecret(key) ? "secret" : "plain";
        },
    };
}

/** Reads a secret config value by fully qualified key, keeping it a secret. */
export function pulumiSecret(key: string): pulumi.Output<string> {
    const i = key.indexOf(":");
    return new pulumi.Config(key.slice(0, i)).requireSecret(key.slice(i + 1));
}
