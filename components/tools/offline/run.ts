import { StepWaits } from "../../core/contract/step-waits";
import * as pulumi from "@pulumi/pulumi";
import * as pulumiRuntimeSettings from "@pulumi/pulumi/runtime/settings";
import { CloudIdentity } from "../../core/contract/identity";
import { VmEntry } from "../../core/contract/vm";
import { ProgramOutputs, recover } from "../../core/program";
import { Settings } from "../../core/contract/settings";
import { CloudPath } from "../../core/contract/cloud-path";
import { RecoveryResult } from "../../core/recovery";
import { PlannedResource, ResourceCapture } from "./capture";
import { StackConfig, configSourceOf } from "./stack-config";
import { SECRET_LOOKUP, answerSecretLookupsOffline } from "../../gate/secret-lookup";
import { OfflinePlaceholders } from "./placeholders";

/** What an offline run needs. */
export interface OfflineRunArgs {
    /** Stack name (used for the config file name in messages, and as the mocks' stack). */
    stack: string;
    /** Stack config (from the stack file, or built for `--inventory`). */
    config: StackConfig;
    /** Folder the inventory path is relative to. */
    baseDir: string;
    /** Every cloud the inventory format knows. */
    identities: readonly CloudIdentity[];
    /** Cloud paths built. */
    paths: readonly CloudPath[];
    /** Also resolve every resource's inputs and dependencies (the `--json` view; slower). */
    details: boolean;
}

/** What an offline run produced. */
export interface OfflineRun {
    /** Stack outputs the program returned. */
    outputs: ProgramOutputs;
    /** The stack's validated settings. */
    settings: Settings;
    /** The command steps' waits of each cloud the inventory uses (each step's time comes from them). */
    stepWaits: readonly StepWaits[];
    /** The plan and records. */
    result: RecoveryResult;
    /** Number of resources registered (components included). */
    resourceCount: number;
    /** Registered resources by type. */
    countsByType: Record<string, number>;
    /** Every resource with options, dependencies and inputs (with `details`). */
    resources?: PlannedResource[];
    /** Type and name of every resource, with its parent's name (always). */
    tree: { type: string; name: string; parent?: string; retainOnDelete: boolean; protect: boolean }[];
    /** The values the run invented (lookup answers, resource ids): never to be shown as facts. */
    placeholders: OfflinePlaceholders;
}

/**
 * Why a custom resource's provider is not one of its own package (the engine would ask that
 * provider to manage it, and a real `pulumi up` fails), or undefined. `provider` is the reference
 * the SDK sends: `urn:pulumi:STACK::PROJECT::pulumi:providers:PACKAGE::NAME::ID`.
 */
export function foreignProvider(type: string, provider: string | undefined): string | undefined {
    if (!provider) return undefined;
    const pkg = /(?:::|\$)pulumi:providers:([^:]+)::/.exec(provider)?.[1];
    const own = type.split(":")[0];
    return pkg === undefined || pkg === own ? undefined : `was given a ${pkg} provider, which cannot manage a ${own} resource`;
}

/**
 * Runs the real program under Pulumi's mocks: no CLI, no credentials, no cloud. Every lookup is
 * answered by the cloud path's placeholders derived from the inventory, and every resource's id
 * is one (`<name>-id`); the run records which values they are. Throws the program's
 * {@link InputError} for bad input.
 */
export async function runOffline(args: OfflineRunArgs): Promise<OfflineRun> {
    const paths = args.paths;
    let entries: readonly VmEntry[] = [];
    const placeholders = new OfflinePlaceholders();
    await pulumi.runtime.setMocks(
        {
            newResource: (r) => {
                const wrong = foreignProvider(r.type, r.provider);
                if (wrong) throw new Error(`internal: ${r.type} ${r.name} ${wrong}`);
                if (r.custom) placeholders.add([`${r.name}-id`]);
                return { id: r.custom ? `${r.name}-id` : undefined, state: { ...(r.inputs as Record<string, unknown>) } };
            },
            call: (c) => {
                for (const p of paths) {
                    const answer = p.offlineLookup(
                        c.token,
                        c.inputs as Record<string, unknown>,
                        entries.filter((v) => v.cloud === p.identity.cloud),
                    );
                    if (answer) return placeholders.collect(answer);
                }
                throw new Error(`the offline plan has no placeholder for the lookup ${c.token}`);
            },
        },
        "bootloop-rescue",
        args.stack,
        true,
    );
    pulumi.runtime.setAllConfig(args.config.values, args.config.secretKeys);

    const capture = new ResourceCapture(args.details);
    const config = configSourceOf(args.config);
    // Secret lookups (a disk's BitLocker key files) run no script offline: the paths' placeholders answer.
    answerSecretLookupsOffline((lookup, environment) => {
        for (const p of paths) {
            const answer = p.offlineLookup(
                SECRET_LOOKUP,
                { lookup, environment },
                entries.filter((v) => v.cloud === p.identity.cloud),
            );
            if (answer) return String(placeholders.collect(answer).stdout);
        }
        throw new Error(`the offline plan has no placeholder for the secret lookup ${lookup}`);
    });
    let recovered: Awaited<ReturnType<typeof recover>>;
    try {
        recovered = await recover({
            identities: args.identities,
            paths,
            config,
            stackFile: `Pulumi.${args.stack}.yaml`,
            baseDir: args.baseDir,
            secret: (key) => pulumi.secret(args.config.values[key]),
            rootOptions: { transformations: [capture.transformation] },
            onValidated: (vms) => {
                entries = vms;
                placeholders.addFacts(vms.flatMap((v) => Object.values(v.fields)));
            },
        });
    } finally {
        answerSecretLookupsOffline(undefined);
    }
    const { result, plan, vms, settings } = recovered;
    const resources = args.details ? await capture.resources() : undefined;
    if (!resources) await capture.settled();
    // Let the last registrations (component outputs) drain, as `pulumi up` would before it ends.
    // waitForRPCs is exported by the runtime but not declared in its typings.
    await (pulumiRuntimeSettings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    const tree = capture.tree();
    const countsByType: Record<string, number> = {};
    for (const r of tree) countsByType[r.type] = (countsByType[r.type] ?? 0) + 1;
    const clouds = new Set(result.plan.vms.map((v) => v.cloud));
    const stepWaits = args.paths.filter((p) => clouds.has(p.identity.cloud)).map((p) => p.stepWaits);
    return { outputs: { plan, vms }, result, settings, stepWaits, resourceCount: tree.length, countsByType, resources, tree, placeholders };
}
