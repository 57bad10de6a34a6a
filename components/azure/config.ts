import { ConfigReader, TagRules, readTags } from "../core/config-values";
import { InputError } from "../core/contract/problems";
import { declareCloudConfigKeys } from "../core/settings";
import { ConfigSource } from "../core/contract/settings";

/** The Azure path's own settings. */
export interface AzureConfig {
    /** Rescue VM image as publisher:offer:sku:version. */
    rescueImage: { publisher: string; offer: string; sku: string; version: string };
    /** Rescue VM size; by default the smallest Dsv5 size that holds disksPerRescue data disks. */
    rescueVmSize?: string;
    /** Subnet resource id per location for rescue VMs; other locations use the affected VM's subnet. */
    rescueSubnetIds: Record<string, string>;
    /** The user's tags, on everything the stack creates (`azureTags`, else `tags`). */
    tags: Record<string, string>;
}

/** Azure tags: names of 1-512 characters without `<>%&\?/`, values of at most 256. */
export const AZURE_TAG_RULES: TagRules = {
    noun: "tag",
    // eslint-disable-next-line no-control-regex -- control characters are among what a tag name may not hold
    key: /^[^<>%&\\?/\x00-\x1f]{1,512}$/,
    // eslint-disable-next-line no-control-regex -- control characters are what a tag value may not hold
    value: /^[^\x00-\x1f]{0,256}$/,
    expected: "a name of 1-512 characters without <>%&\\?/ and a value of at most 256 characters",
    reservedPrefixes: ["microsoft", "azure", "windows"],
    ownKeys: [],
};

/** The Azure config keys and what they mean (docs/reference.md, messages); declared to core, which refuses keys no cloud reads. */
export const AZURE_CONFIG_KEYS: Record<string, string> = declareCloudConfigKeys("azure", {
    azureRescueImage: "rescue VM image as publisher:offer:sku:version (default Canonical:ubuntu-24_04-lts:server:latest)",
    azureRescueVmSize: "rescue VM size (default: the smallest Dsv5 size that holds disksPerRescue data disks)",
    azureTags: "map of tags for everything the stack creates on azure, instead of tags (default: tags)",
    azureRescueSubnetIds: "map location → subnet resource id for rescue VMs (default: the affected VM's subnet)",
});

const SUBNET_ID =
    /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[A-Za-z0-9_.()-]{1,90}\/providers\/Microsoft\.Network\/virtualNetworks\/[A-Za-z0-9_.-]{1,64}\/subnets\/[A-Za-z0-9_.-]{1,80}$/;

/** Reads and validates the Azure config keys; throws an InputError listing every bad value. */
export function readAzureConfig(config: ConfigSource, stackFile: string): AzureConfig {
    const r = new ConfigReader(config, stackFile);
    const image = r.text(
        "azureRescueImage",
        /^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$/,
        "publisher:offer:sku:version",
        "Canonical:ubuntu-24_04-lts:server:latest",
    );
    const [publisher, offer, sku, version] = image.split(":");
    const azure: AzureConfig = {
        rescueImage: { publisher, offer, sku, version },
        rescueVmSize: r.text("azureRescueVmSize", /^Standard_[A-Za-z0-9_]{2,40}$/, "a VM size such as Standard_D4s_v5"),
        rescueSubnetIds: r.map("azureRescueSubnetIds", /^[a-z][a-z0-9]{2,30}$/, SUBNET_ID, "location: /subscriptions/…/subnets/NAME"),
        tags: readTags(r, config, "tags", "azureTags", AZURE_TAG_RULES),
    };
    if (r.problems.length > 0) throw new InputError(r.problems);
    return azure;
}
