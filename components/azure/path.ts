import { Provider } from "@pulumi/azure-native/provider";
import * as pulumi from "@pulumi/pulumi";
import { VmEntry } from "../core/contract/vm";
import { bindSteps } from "../core/cloud-steps";
import { CloudPath, CloudSession, SessionContext } from "../core/contract/cloud-path";
import { AZURE_CONFIG_KEYS, AzureConfig, readAzureConfig } from "./config";
import { azureBuilt } from "./built";
import { lookUpVm, offlineAzureLookup } from "./lookups";
import { AZURE_MAX_DISKS_PER_RESCUE, AzureRescueFleet } from "./rescue";
import * as steps from "./steps";
import { RestoreListings } from "../core/restore-listings";

/**
 * One run of the Azure path: a provider per subscription, the rescue fleet, the steps, and the
 * restore points listed once per subscription.
 */
class AzureSession {
    private readonly providers = new Map<string, Provider>();
    private readonly listings = new RestoreListings();
    private readonly fleet: AzureRescueFleet;
    private readonly env: steps.AzureStepEnv;

    constructor(private readonly ctx: SessionContext<AzureConfig>) {
        const tags = { ...ctx.config.tags, "bootloop-rescue-stack": pulumi.getStack(), "bootloop-rescue-managed-by": "bootloop-rescue" };
        const providerOf = (subscription: string) => this.provider(subscription);
        this.fleet = new AzureRescueFleet(ctx.config, providerOf, tags);
        this.env = { settings: ctx.settings, providerOf, rescueOf: (r) => this.fleet.detailsOf(r), tags, userTags: ctx.config.tags };
    }

    /** One provider per subscription: a stack can span several. */
    private provider(subscription: string): Provider {
        const key = subscription.toLowerCase();
        let provider = this.providers.get(key);
        if (!provider) {
            provider = new Provider(`azure-${key}`, { subscriptionId: key }, { parent: this.ctx.parent });
            this.providers.set(key, provider);
        }
        return provider;
    }

    /** The session core drives: lookups, rescue VMs, and the steps bound to this run. */
    asSession(): CloudSession {
        return {
            resolve: (vm: VmEntry, restore) =>
                lookUpVm(vm, this.provider(vm.fields.subscriptionId), this.ctx.config, this.listings, restore),
            rescueVm: (ctx) => this.fleet.instance(ctx),
            ...bindSteps(this.env, steps),
        };
    }
}

/** The Azure recovery path: Windows VMs repaired through pooled Linux rescue VMs and Run Command. */
export const azurePath: CloudPath<AzureConfig> = {
    ...azureBuilt,
    disksPerRescue: { default: 8, max: AZURE_MAX_DISKS_PER_RESCUE },
    configKeys: AZURE_CONFIG_KEYS,
    configure: readAzureConfig,
    openSession: (ctx) => new AzureSession(ctx).asSession(),
    offlineLookup: offlineAzureLookup,
};
