import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { VmEntry } from "../core/inventory/validate";
import { CloudPath, CloudSession, SessionContext } from "../core/steps";
import { GCP_CONFIG_KEYS, GcpConfig, readGcpConfig } from "./config";
import { gcpIdentity } from "./identity";
import { lookUpInstance, offlineGcpLookup } from "./lookups";
import { GCP_MAX_DISKS_PER_RESCUE, GcpRescueFleet } from "./rescue";
import * as steps from "./steps";

/**
 * One run of the GCP path. Resources name their project, so one provider (the ambient
 * credentials) serves every project of the inventory.
 */
class GcpSession implements CloudSession {
    private readonly fleet: GcpRescueFleet;
    private readonly env: steps.GcpStepEnv;

    constructor(private readonly ctx: SessionContext<GcpConfig>) {
        const labels = { "bootloop-rescue-stack": pulumi.getStack().toLowerCase().replace(/[^a-z0-9_-]/g, "-"), "bootloop-rescue-managed-by": "bootloop-rescue" };
        const providerOf = (): gcp.Provider | undefined => undefined;
        this.fleet = new GcpRescueFleet(ctx.config, providerOf, labels);
        this.env = { settings: ctx.settings, config: ctx.config, providerOf, rescueOf: (r) => this.fleet.detailsOf(r), labels };
    }

    resolve = (vm: VmEntry) => lookUpInstance(vm, this.ctx.config);
    rescueVm: CloudSession["rescueVm"] = (ctx) => this.fleet.instance(ctx);
    backup: CloudSession["backup"] = (ctx) => steps.backup(this.env, ctx);
    scratchDisk: CloudSession["scratchDisk"] = (ctx, backup) => steps.scratchDisk(this.env, ctx, backup);
    attach: CloudSession["attach"] = (ctx, scratch, rescue) => steps.attach(this.env, ctx, scratch, rescue);
    repair: CloudSession["repair"] = (ctx, attached) => steps.repair(this.env, ctx, attached);
    fixedDisk: CloudSession["fixedDisk"] = (ctx, source) => steps.fixedDisk(this.env, ctx, source);
    swap: CloudSession["swap"] = (ctx, fixed) => steps.swap(this.env, ctx, fixed);
}

/** The GCP recovery path: Compute Engine Windows instances repaired through pooled Linux rescue instances. */
export const gcpPath: CloudPath<GcpConfig> = {
    identity: gcpIdentity,
    strategies: ["repair"],
    bitlocker: false,
    disksPerRescue: { default: 16, max: GCP_MAX_DISKS_PER_RESCUE },
    configKeys: GCP_CONFIG_KEYS,
    configure: readGcpConfig,
    openSession: (ctx) => new GcpSession(ctx),
    offlineLookup: offlineGcpLookup,
};
