import type { ScaleGroup } from "../core/contract/scale-group";
import { CloudIdentity } from "../core/contract/identity";

/** How an Azure VM is named in the inventory. */
export const azureIdentity: CloudIdentity = {
    cloud: "azure",
    fields: [
        {
            name: "subscriptionId",
            required: true,
            pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
            expected: "a subscription GUID such as 11111111-2222-3333-4444-555555555555",
        },
        {
            name: "resourceGroup",
            required: true,
            // Azure: 1-90 of letters, digits, underscore, hyphen, period, parentheses; not ending in a period.
            pattern: /^[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]$/,
            expected: "a resource group name: 1-90 letters, digits, '_', '-', '.', '(', ')', not ending in '.'",
        },
        {
            name: "vmName",
            required: true,
            pattern: /^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?$/,
            expected: "a VM name: 1-64 letters, digits, '.', '_', '-', starting with a letter or digit, not ending in '.' or '-'",
        },
        { name: "location", required: false, pattern: /^[a-z][a-z0-9]{2,30}$/, expected: "an Azure location such as eastus2" },
        { name: "zone", required: false, pattern: /^[1-3]$/, expected: "an availability zone number: 1, 2 or 3" },
        {
            name: "osDiskId",
            required: false,
            pattern:
                /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[A-Za-z0-9_.()-]{1,90}\/providers\/Microsoft\.Compute\/disks\/[A-Za-z0-9_.-]{1,80}$/,
            expected: "the resource id of the OS disk the lookup must find",
        },
        {
            name: "diskEncryption",
            required: false,
            pattern: /^(none|ade)$/,
            expected:
                "none, or ade (Azure Disk Encryption: the lookup must find it, and the repair fetches the disk's BitLocker key from Key Vault)",
        },
        {
            name: "subnetId",
            required: false,
            pattern:
                /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[A-Za-z0-9_.()-]{1,90}\/providers\/Microsoft\.Network\/virtualNetworks\/[A-Za-z0-9_.-]{1,64}\/subnets\/[A-Za-z0-9_.-]{1,80}$/,
            expected: "a subnet resource id for this zone's rescue VM",
        },
    ],
    restoreFrom: {
        pattern:
            /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[A-Za-z0-9_.()-]{1,90}\/providers\/Microsoft\.Compute\/(snapshots|disks|restorePointCollections\/[A-Za-z0-9_.-]{1,80}\/restorePoints)\/[A-Za-z0-9_.-]{1,80}$/,
        expected: "the resource id of a snapshot, disk or restore point (/subscriptions/…/providers/Microsoft.Compute/snapshots/NAME)",
    },
    key: (f) => `${f.subscriptionId}/${f.resourceGroup}/${f.vmName}`.toLowerCase(),
    label: (f) => `azure ${f.resourceGroup}/${f.vmName}`,
    shortName: (f) => f.vmName,
    placement: (f) => ({ scope: f.subscriptionId.toLowerCase(), region: f.location ?? "", zone: f.zone ?? "" }),
    sample: (i) => ({
        subscriptionId: `11111111-2222-3333-4444-${(555555555555 + (i % 2)).toString()}`,
        resourceGroup: `rg-app-${i % 10}`,
        vmName: `vm-${i}`,
        location: ["eastus2", "westeurope"][i % 2],
        zone: String(1 + (Math.floor(i / 2) % 3)),
    }),
};

/** The scale set of a VM (its resource id), and how a member leaves it (the chain's lookup and discovery say the same). */
export function scaleSetOf(id: string): ScaleGroup {
    return { name: `scale set ${id.split("/").pop()}`, leave: "remove it from the scale set first" };
}
