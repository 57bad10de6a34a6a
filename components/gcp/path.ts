import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { VmEntry } from "../core/contract/vm";
import { bindSteps } from "../core/cloud-steps";
import { CloudPath, CloudSession, SessionContext } from "../core/contract/cloud-path";
import { GCP_CONFIG_KEYS, GcpConfig, readGcpConfig } from "./config";
import { gcpBuilt } from "./built";
import { lookUpInstance, offlineGcpLookup } from "./lookups";
import { GCP_MAX_DISKS_PER_RESCUE, GcpRescueFleet } from "./rescue";
import * as steps from "./steps";
import { kebab } from "../core/contract/identity";
import { runCloudScript } from "../gate/secret-lookup";
import { gcpScript } from "./scripts";
import { RestoreListings } from "../core/restore-listings";

/**
 * One run of the GCP path. Resources name their project, so one provider (the ambient
 * credentials) serves every project of the inventory. Restore points are listed once per project.
 */
function openGcpSession(ctx: SessionContext<GcpConfig>): CloudSession {
    const labels = {
        ...ctx.config.labels,
        "bootloop-rescue-stack": pulumi
            .getStack()
            .toLowerCase()
            .replace(/[^a-z0-9_-]/g, "-"),
        "bootloop-rescue-managed-by": "bootloop-rescue",
    };
    const providerOf = (): gcp.Provider | undefined => undefined;
    const fleet = new GcpRescueFleet(
        ctx.config,
        providerOf,
        labels,
        ctx.settings.ruleSet,
        ctx.settings.linuxRuleSet,
        pulumi.getStack(),
        ctx.settings.rateShare,
    );
    const listings = new RestoreListings();
    const env: steps.GcpStepEnv = { settings: ctx.settings, config: ctx.config, providerOf, rescueOf: (r) => fleet.detailsOf(r), labels };
    return {
        resolve: (vm: VmEntry, restore) => lookUpInstance(vm, ctx.config, listings, undefined, restore),
        rescueVm: (rescue) => fleet.instance(rescue),
        ...bindSteps(env, steps),
    };
}

/** The GCP recovery path: Compute Engine Windows instances repaired through pooled Linux rescue instances. */
export const gcpPath: CloudPath<GcpConfig> = {
    ...gcpBuilt,
    disksPerRescue: { default: 16, max: GCP_MAX_DISKS_PER_RESCUE },
    configKeys: GCP_CONFIG_KEYS,
    configure: readGcpConfig,
    openSession: openGcpSession,
    offlineLookup: offlineGcpLookup,
    storeKeySecret: (vm, { stack, config, keyFile }) => {
        const stackLabel = kebab(stack).slice(0, 63) || "stack";
        return runCloudScript("gcp-store-key", gcpScript("store-key"), {
            PROJECT: vm.fields.project,
            SECRET_ID: `bootloop-rescue-${stackLabel.slice(0, 100)}-${vm.slug}`,
            KEY_FILE: keyFile,
            LABELS: Object.entries({
                ...config.labels,
                "bootloop-rescue-stack": stackLabel,
                "bootloop-rescue-managed-by": "bootloop-rescue",
            })
                .map(([k, v]) => `${k}=${v}`)
                .join(","),
            VM_LABEL: vm.label,
        });
    },
};
