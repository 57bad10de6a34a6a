import * as pulumi from "@pulumi/pulumi";
import { InputError, Problem } from "./contract/problems";
import { VmEntry } from "./contract/vm";
import { buildPlan } from "./plan/plan";
import { PlacedVm, RecoveryPlan, Wave } from "./contract/plan";
import { Settings } from "./contract/settings";
import { CloudPath, CloudSession, RescueStep } from "./contract/cloud-path";
import { Placement, kebab, shortHash } from "./contract/identity";
import { zoneKey } from "./plan/pools";
import { VmRecord, declareRollback, declareVmChain } from "./vm-chain";
import { declareWaveGate } from "./wave-gate";
import { REMEDIES, Strategy } from "./contract/remedies";

/** Where a VM's BitLocker keys come from (see {@link RecoveryResult.keySources}). */
export type KeySource = "stack config" | "cloud" | "secret store";

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
    /**
     * The BitLocker keys each VM's repair receives, by where they come from (never the keys):
     * `stack config` (a recovery password its entry names), `cloud` (key files the cloud keeps
     * for its disk, fetched before anything was declared), `secret store` (a secret of the cloud's
     * secret store its entry names, which the rescue VM reads itself). VMs without keys are absent.
     */
    keySources: Record<string, KeySource[]>;
}

/**
 * The root of every resource the program declares. It looks up what the inventory leaves out,
 * builds the plan (waves, rescue pools), then declares per zone the rescue VMs, per wave a gate
 * that waits for every chain of the previous wave to end and stops the rollout when more of its VMs
 * failed than the wave's failure budget allows, and per VM its chain; within a wave, at most
 * `maxInFlight` chains run at once (the others wait for a lane, in wave order). A VM that cannot
 * be recovered for a reason of its own ends its chain with status `failed`: its lane goes on.
 */
export class Recovery extends pulumi.ComponentResource {
    /**
     * Declares the whole recovery. Lookups are asynchronous, so this is a factory: the component is
     * registered first (cloud sessions parent their providers to it), then the lookups run, then
     * the plan is declared. Rejects with an {@link InputError} when lookups fail; no cloud resource
     * has been declared then.
     */
    static async create(
        name: string,
        args: RecoveryArgs,
        opts?: pulumi.ComponentResourceOptions,
    ): Promise<{ recovery: Recovery; result: RecoveryResult }> {
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

        const rolledBack = (vm: VmEntry) => settings.rollback === "all" || settings.rollback.includes(vm.key);
        const { placed, beks } = await resolveAll(args.vms, sessions, args.inventoryFile, rolledBack, settings);
        // The secret-store secret of each VM whose disk this run repairs (a reference, never a key).
        const keySecretOf = new Map<string, string>();
        for (const vm of placed) {
            const field = pathOf.get(vm.cloud)!.bitlocker.secretField;
            const secret = field ? vm.fields[field] : undefined;
            if (secret && repairsDisk(vm.strategy, vm.rollback, settings.teardown)) keySecretOf.set(vm.key, secret);
        }
        const plan = buildPlan(placed, {
            ...settings,
            stack: pulumi.getStack(),
            disksPerRescue: (cloud) =>
                settings.disksPerRescue[cloud] ?? settings.disksPerRescue["*"] ?? pathOf.get(cloud)!.disksPerRescue.default,
        });

        // One component per zone: its rescue VMs and the chains of its VMs. A VM's zone is where
        // its disk lives, so a VM never changes parent (and so is never renamed).
        const zones = new Map<string, Zone>();
        const zoneOf = (cloud: string, placement: Placement) => {
            const key = zoneKey(cloud, placement);
            let zone = zones.get(key);
            if (!zone) {
                zone = new Zone(zoneName(cloud, placement), { cloud, placement }, { parent: this });
                zones.set(key, zone);
            }
            return zone;
        };

        const rescues = new Map<string, RescueStep>();
        const byKey = new Map(plan.vms.map((v) => [v.key, v]));
        if (!settings.teardown) {
            for (const pool of plan.rescuePools) {
                const zone = zoneOf(pool.cloud, pool.placement);
                for (const member of pool.members) {
                    const keySecrets = member.vms.flatMap((key) =>
                        keySecretOf.has(key) ? [{ vm: byKey.get(key)!, secret: keySecretOf.get(key)! }] : [],
                    );
                    const retries = member.vms.flatMap((key) => {
                        const vm = byKey.get(key)!;
                        return vm.retry && repairsDisk(vm.strategy, vm.rollback, settings.teardown) ? [{ vm, attempt: 1 + vm.retry }] : [];
                    });
                    const rescue = sessions
                        .get(pool.cloud)!
                        .rescueVm({ pool, member, sample: byKey.get(member.vms[0])!, keySecrets, retries, opts: { parent: zone } });
                    rescues.set(member.name, rescue);
                }
            }
        }

        const records: Record<string, VmRecord> = {};
        let previous: { wave: Wave; records: VmRecord[]; ends: pulumi.Resource[] } | undefined;
        let declared = 0;
        for (const wave of plan.waves) {
            // Each wave after the first starts once its gate passed: every chain of the wave before
            // ended, and no more of its VMs failed than that wave's budget allows.
            const after = previous
                ? [
                      declareWaveGate({
                          previous: previous.wave,
                          records: previous.records,
                          ends: previous.ends,
                          next: wave.wave,
                          parent: this,
                          teardown: settings.teardown,
                      }),
                  ]
                : [];
            const waveRecords: VmRecord[] = [];
            const verified: pulumi.Resource[] = [];
            for (const [i, key] of wave.vms.entries()) {
                const vm = byKey.get(key)!;
                // At most maxInFlight chains at once: the chain in lane i starts after the one
                // maxInFlight places before it in the wave verified its boot.
                const lane = i >= settings.maxInFlight ? [verified[i - settings.maxInFlight]] : [];
                const common = {
                    vm,
                    session: sessions.get(vm.cloud)!,
                    parent: zoneOf(vm.cloud, vm.placement),
                    after: [...after, ...lane],
                    teardown: settings.teardown,
                };
                const chain = vm.rollback
                    ? declareRollback(common)
                    : declareVmChain({
                          ...common,
                          rescue: vm.seat && rescues.get(vm.seat.member),
                          bitlockerKey: vm.bitlockerKey ? args.secret(vm.bitlockerKey) : undefined,
                          bitlockerBek: beks.get(vm.key),
                          bitlockerSecret: keySecretOf.get(vm.key),
                          restoreBefore: settings.restoreBefore,
                      });
                records[vm.key] = chain.record;
                waveRecords.push(chain.record);
                verified.push(chain.verified);
                // Let the event loop turn now and then: registrations already sent can finish and be
                // freed, so thousands of VMs never hold every registration in memory at once. Order
                // and dependencies are unchanged.
                if (++declared % DECLARE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
            }
            previous = { wave, records: waveRecords, ends: verified };
        }
        for (const zone of zones.values()) zone.done();
        this.registerOutputs({ vms: records });
        const keySources: RecoveryResult["keySources"] = {};
        for (const vm of plan.vms) {
            const repaired = repairsDisk(vm.strategy, vm.rollback, settings.teardown);
            const sources: KeySource[] = [
                ...(vm.bitlockerKey && repaired ? (["stack config"] as const) : []),
                ...(beks.has(vm.key) ? (["cloud"] as const) : []),
                ...(keySecretOf.has(vm.key) ? (["secret store"] as const) : []),
            ];
            if (sources.length) keySources[vm.key] = sources;
        }
        return { plan, records, keySources };
    }
}

/** VMs declared between two turns of the event loop. */
const DECLARE_SLICE = 25;

/** The resource name of a zone's component: readable, and unique through a hash of its identity. */
export function zoneName(cloud: string, placement: Placement): string {
    return `zone-${cloud}-${kebab(placement.zone || placement.region || "any")}-${shortHash(zoneKey(cloud, placement))}`;
}

/** The resources of one zone (of one account/subscription/project): rescue VMs and VM chains. */
export class Zone extends pulumi.ComponentResource {
    constructor(
        name: string,
        private readonly where: { cloud: string; placement: Placement },
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("bootloop-rescue:core:Zone", name, {}, opts);
    }

    /** Registers the zone's outputs once its children are declared. */
    done(): void {
        this.registerOutputs({ cloud: this.where.cloud, ...this.where.placement });
    }
}

/**
 * Whether this run repairs the VM's disk on a rescue VM (and so may need its BitLocker keys): its
 * strategy repairs, it is not rolled back, and the run is no teardown.
 */
function repairsDisk(strategy: Strategy, rolledBack: boolean, teardown: boolean): boolean {
    return REMEDIES[strategy].repairs && !rolledBack && !teardown;
}

/**
 * Runs every VM's lookup, then fetches the BitLocker key files the cloud keeps for the disks this
 * run repairs (not in teardown, not for a VM rolled back); all failures are reported together,
 * naming the entry. The keys are Pulumi secrets from the moment they arrive, and never part of
 * the plan.
 */
async function resolveAll(
    vms: readonly VmEntry[],
    sessions: Map<string, CloudSession>,
    file: string,
    rolledBack: (vm: VmEntry) => boolean,
    settings: Pick<Settings, "restoreBefore" | "teardown">,
): Promise<{ placed: PlacedVm[]; beks: Map<string, pulumi.Output<string>> }> {
    const restoreFor = (vm: VmEntry) =>
        REMEDIES[vm.strategy].restores && !rolledBack(vm) ? { before: settings.restoreBefore } : undefined;
    const problems: Problem[] = [];
    const failed = (vm: VmEntry, reason: unknown) =>
        problems.push({
            file,
            entry: vm.index,
            line: vm.line,
            vm: vm.label,
            message: `lookup failed: ${reason instanceof Error ? reason.message : String(reason)}`,
        });
    const settled = await Promise.allSettled(
        vms.map(async (vm) => {
            const found = await sessions.get(vm.cloud)!.resolve(vm, restoreFor(vm));
            const needed = found.fetchBeks && repairsDisk(vm.strategy, rolledBack(vm), settings.teardown);
            return { found, bek: needed ? await found.fetchBeks!() : undefined };
        }),
    );
    const placed: PlacedVm[] = [];
    const beks = new Map<string, pulumi.Output<string>>();
    settled.forEach((s, i) => {
        const vm = vms[i];
        if (s.status === "rejected") {
            failed(vm, s.reason);
            return;
        }
        const { placement, originalDiskId, facts, restorePoint } = s.value.found;
        placed.push({ ...vm, placement, originalDiskId, facts, restorePoint, rollback: rolledBack(vm) });
        if (s.value.bek !== undefined) beks.set(vm.key, pulumi.secret(s.value.bek));
    });
    if (problems.length > 0) throw new InputError(problems);
    return { placed, beks };
}
