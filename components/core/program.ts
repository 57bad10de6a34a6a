import * as pulumi from "@pulumi/pulumi";
import { CloudIdentity } from "./identity";
import { InputError, Problem } from "./inventory/problems";
import { readInventory } from "./inventory/read";
import { VmEntry, validateInventory } from "./inventory/validate";
import { NAMESPACE, ConfigSource, readSettings } from "./settings";
import { Recovery, RecoveryResult } from "./recovery";
import { CloudPath } from "./steps";
import { RecoveryPlan } from "./plan/plan";
import { VmRecord } from "./vm-chain";

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
    secret(key: string): pulumi.Output<string>;
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
    rescuePools: { cloud: string; scope: string; region: string; zone: string; capacity: number; rescueVms: { name: string; vms: string[] }[] }[];
}

/**
 * The program: settings and inventory are read and validated first (any problem stops it before
 * one resource is declared), then the recovery is declared.
 */
export async function recover(args: ProgramArgs): Promise<ProgramOutputs & { result: RecoveryResult }> {
    const built = new Map(args.paths.map((p) => [p.identity.cloud, p]));
    const settings = readSettings(args.config, args.stackFile, new Map([...built].map(([c, p]) => [c, p.disksPerRescue])));
    const inventory = readInventory(settings.inventory, args.baseDir);
    const vms = validateInventory(inventory, {
        configNamespace: NAMESPACE,
        identities: args.identities,
        built: new Map([...built].map(([c, p]) => [c, { strategies: p.strategies, bitlocker: p.bitlocker }])),
        configKind: (key) => args.config.kind(key),
    });
    args.onValidated?.(vms);
    // Each cloud in use validates its own config now, still before anything is declared.
    const problems: Problem[] = [];
    const cloudConfigs = new Map<string, unknown>();
    for (const cloud of new Set(vms.map((v) => v.cloud))) {
        try {
            cloudConfigs.set(cloud, built.get(cloud)!.configure(args.config, args.stackFile));
        } catch (err) {
            if (!(err instanceof InputError)) throw err;
            problems.push(...err.problems);
        }
    }
    if (problems.length > 0) throw new InputError(problems);
    const { result } = await Recovery.create(
        "recovery",
        { vms, paths: args.paths, settings, cloudConfigs, secret: args.secret, inventoryFile: settings.inventory },
        args.rootOptions,
    );
    return { plan: summarize(result.plan), vms: result.records, result };
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
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };
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
