import * as pulumi from "@pulumi/pulumi";
import * as local from "@pulumi/command/local";
import { InputError, Problem } from "./inventory/problems";
import { VmEntry } from "./inventory/validate";
import { PlacedVm, RecoveryPlan, buildPlan } from "./plan/plan";
import { Settings } from "./settings";
import { CloudPath, CloudSession, RescueStep } from "./steps";
import { VmRecord, VmRecovery } from "./vm-recovery";

/** Arguments of the whole recovery. */
export interface RecoveryArgs {
    /** The validated inventory entries. */
    vms: readonly VmEntry[];
    /** The built cloud paths; every entry's cloud must be among them (validation ensured it). */
    paths: readonly CloudPath[];
    /** The stack's validated settings. */
    settings: Settings;
    /** Each cloud's validated own settings, by cloud. */
    cloudConfigs: ReadonlyMap<string, unknown>;
    /** Reads the secret a `bitlockerKey` names (fully qualified config key). */
    secret(key: string): pulumi.Output<string>;
    /** The file the inventory came from (for lookup error messages). */
    inventoryFile: string;
}

/** What the recovery produces once every resource is declared. */
export interface RecoveryResult {
    /** The plan that was declared. */
    plan: RecoveryPlan;
    /** One record per VM, keyed by VM key. */
    records: Record<string, VmRecord>;
}

/**
 * The root of every resource the program declares. It looks up what the inventory leaves out,
 * builds the plan (waves, rescue pools), then declares per zone the rescue VMs, per wave a gate
 * that waits for every VM of the previous wave to verify its boot, and per VM its chain.
 */
export class Recovery extends pulumi.ComponentResource {
    /**
     * Declares the whole recovery. Lookups are asynchronous, so this is a factory: the component is
     * registered first (cloud sessions parent their providers to it), then the lookups run, then
     * the plan is declared. Rejects with an {@link InputError} when lookups fail; no cloud resource
     * has been declared then.
     */
    static async create(name: string, args: RecoveryArgs, opts?: pulumi.ComponentResourceOptions): Promise<{ recovery: Recovery; result: RecoveryResult }> {
        const recovery = new Recovery(name, opts);
        return { recovery, result: await recovery.declare(args) };
    }

    private constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("bootloop-rescue:core:Recovery", name, {}, opts);
    }

    private async declare(args: RecoveryArgs): Promise<RecoveryResult> {
        const { settings } = args;
        const pathOf = new Map(args.paths.map((p) => [p.identity.cloud, p]));
        const sessions = new Map<string, CloudSession>();
        for (const cloud of new Set(args.vms.map((v) => v.cloud))) {
            sessions.set(cloud, pathOf.get(cloud)!.openSession({ parent: this, settings, config: args.cloudConfigs.get(cloud) }));
        }

        const placed = await resolveAll(args.vms, sessions, args.inventoryFile);
        const plan = buildPlan(placed, {
            ...settings,
            disksPerRescue: (cloud) => settings.disksPerRescue[cloud] ?? settings.disksPerRescue["*"] ?? pathOf.get(cloud)!.disksPerRescue.default,
        });

        const rescues = new Map<string, RescueStep>();
        if (!settings.teardown) {
            const byKey = new Map(plan.vms.map((v) => [v.key, v]));
            for (const pool of plan.rescuePools) {
                for (const member of pool.members) {
                    const rescue = sessions.get(pool.cloud)!.rescueVm({ pool, member, sample: byKey.get(member.vms[0])!, opts: { parent: this } });
                    rescues.set(member.name, rescue);
                }
            }
        }

        const byKey = new Map(plan.vms.map((v) => [v.key, v]));
        const records: Record<string, VmRecord> = {};
        let previous: pulumi.Resource[] = [];
        for (const wave of plan.waves) {
            const after =
                previous.length === 0
                    ? []
                    : [new local.Command(`wave-${wave.wave}-gate`, {}, { parent: this, dependsOn: previous })];
            const verified: pulumi.Resource[] = [];
            for (const key of wave.vms) {
                const vm = byKey.get(key)!;
                const chain = new VmRecovery(
                    vm.slug,
                    {
                        vm,
                        session: sessions.get(vm.cloud)!,
                        rescue: vm.seat && rescues.get(vm.seat.member),
                        after,
                        teardown: settings.teardown,
                        bitlockerKey: vm.bitlockerKey ? args.secret(vm.bitlockerKey) : undefined,
                    },
                    { parent: this },
                );
                records[vm.key] = chain.record;
                verified.push(chain.verified);
            }
            previous = verified;
        }
        this.registerOutputs({ vms: records });
        return { plan, records };
    }
}

/** Runs every VM's lookup; all failures are reported together, naming the entry. */
async function resolveAll(vms: readonly VmEntry[], sessions: Map<string, CloudSession>, file: string): Promise<PlacedVm[]> {
    const settled = await Promise.allSettled(vms.map((vm) => sessions.get(vm.cloud)!.resolve(vm)));
    const problems: Problem[] = [];
    const placed: PlacedVm[] = [];
    settled.forEach((s, i) => {
        const vm = vms[i];
        if (s.status === "fulfilled") placed.push({ ...vm, placement: s.value.placement, facts: s.value.facts });
        else problems.push({ file, entry: vm.index, line: vm.line, vm: vm.label, message: `lookup failed: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}` });
    });
    if (problems.length > 0) throw new InputError(problems);
    return placed;
}
