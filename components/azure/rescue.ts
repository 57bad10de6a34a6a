import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import { Provider } from "@pulumi/azure-native/provider";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { shortHash } from "../core/contract/identity";
import { RescueContext, RescueStep } from "../core/contract/cloud-path";
import { RESCUE_LIB, rescueCloudInit, rescueTools } from "../../rescue/payload";
import { AzureConfig } from "./config";
import { AzureFacts } from "./lookups";

/** Dsv5 sizes by the data disks they hold (Azure's per-size limits). */
const SIZES: [maxDisks: number, size: string][] = [
    [4, "Standard_D2s_v5"],
    [8, "Standard_D4s_v5"],
    [16, "Standard_D8s_v5"],
];
/** The most data disks a rescue VM is given (the largest size above). */
export const AZURE_MAX_DISKS_PER_RESCUE = 16;

/** The smallest size that holds `disks` data disks. */
export function rescueVmSize(disks: number): string {
    const found = SIZES.find(([max]) => disks <= max);
    if (!found) throw new Error(`internal: no rescue VM size holds ${disks} data disks`);
    return found[1];
}

let unusableKey: string | undefined;
/**
 * An SSH public key nobody holds the private key of: a 2048-bit RSA modulus derived from a fixed
 * text with SHA-512, whose factors no one knows. Azure requires a key for a Linux VM without a
 * password; this one is the same on every run (so the VM is never replaced) and opens no login.
 */
export function unusableSshKey(): string {
    if (unusableKey) return unusableKey;
    const blocks = [0, 1, 2, 3].map((i) =>
        createHash("sha512").update(`bootloop-rescue: no one holds the private key of this rescue VM (${i})`).digest(),
    );
    const n = Buffer.concat(blocks);
    n[0] |= 0x80;
    n[n.length - 1] |= 0x01;
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, (b.length >> 8) & 0xff, b.length & 0xff]), b]);
    const blob = Buffer.concat([
        field(Buffer.from("ssh-rsa")),
        field(Buffer.from([0x01, 0x00, 0x01])),
        field(Buffer.concat([Buffer.from([0]), n])),
    ]);
    unusableKey = `ssh-rsa ${blob.toString("base64")} bootloop-rescue-no-login`;
    return unusableKey;
}

/** Where a rescue VM is, for the steps that address it. */
export interface AzureRescueVm {
    subscription: string;
    resourceGroup: string;
    vmName: string;
    location: string;
    /** The Run Command that put this version of the rescue tools on it (repairs wait for it). */
    tools?: pulumi.Resource;
}

/** The file on a rescue VM naming the version of the rescue tools installed there. */
const TOOLS_VERSION_FILE = `${RESCUE_LIB}/version`;

/**
 * The script of the one Run Command per rescue VM that installs the rescue tools (about 24 KB,
 * gzip-base64 inline) and records their version; each repair then carries only a few lines.
 */
export function toolsScript(): string {
    const tools = rescueTools();
    return `${tools.install}\nprintf '%s\\n' '${tools.version}' > ${TOOLS_VERSION_FILE}.new && mv -f ${TOOLS_VERSION_FILE}.new ${TOOLS_VERSION_FILE}\n`;
}

/**
 * The rescue VMs of one run, and their network security groups (one per subscription, resource
 * group and location): Linux, no public IP, a NIC in the affected VM's subnet, an explicit
 * deny-all inbound rule, no login path. Their data disks are attached by commands, so the VM
 * resource ignores its data disk list: a later `pulumi up` never detaches them.
 */
export class AzureRescueFleet {
    private readonly groups = new Map<string, network.NetworkSecurityGroup>();
    private readonly details = new Map<RescueStep, AzureRescueVm>();

    constructor(
        private readonly config: AzureConfig,
        private readonly providerOf: (subscription: string) => Provider,
        private readonly tags: Record<string, string>,
    ) {}

    /** Where a rescue VM this fleet declared lives. */
    detailsOf(rescue: RescueStep): AzureRescueVm {
        const d = this.details.get(rescue);
        if (!d) throw new Error("internal: not an Azure rescue VM");
        return d;
    }

    private securityGroup(where: AzureRescueVm, parent: pulumi.Resource): network.NetworkSecurityGroup {
        const key = `${where.subscription}/${where.resourceGroup}/${where.location}`.toLowerCase();
        let group = this.groups.get(key);
        if (!group) {
            group = new network.NetworkSecurityGroup(
                `rescue-azure-${shortHash(`nsg ${key}`)}-nsg`,
                {
                    resourceGroupName: where.resourceGroup,
                    location: where.location,
                    securityRules: [
                        {
                            name: "deny-all-inbound",
                            description: "bootloop-rescue rescue VMs take no inbound traffic; Run Command needs none",
                            priority: 4096,
                            direction: "Inbound",
                            access: "Deny",
                            protocol: "*",
                            sourceAddressPrefix: "*",
                            sourcePortRange: "*",
                            destinationAddressPrefix: "*",
                            destinationPortRange: "*",
                        },
                    ],
                    tags: this.tags,
                },
                { parent, provider: this.providerOf(where.subscription) },
            );
            this.groups.set(key, group);
        }
        return group;
    }

    /** One rescue VM of a zone's pool, sized for the pool's disks per rescue VM. */
    instance(ctx: RescueContext): RescueStep {
        const { scope: subscription, region: location, zone } = ctx.pool.placement;
        const facts = ctx.sample.facts as unknown as AzureFacts;
        const where: AzureRescueVm = { subscription, resourceGroup: ctx.sample.fields.resourceGroup, vmName: ctx.member.name, location };
        const opts = pulumi.mergeOptions(ctx.opts, { provider: this.providerOf(subscription) });
        const nic = new network.NetworkInterface(
            `${ctx.member.name}-nic`,
            {
                resourceGroupName: where.resourceGroup,
                location,
                ipConfigurations: [{ name: "ipconfig", subnet: { id: facts.subnetId }, privateIPAllocationMethod: "Dynamic" }],
                networkSecurityGroup: { id: this.securityGroup(where, ctx.opts.parent!).id },
                tags: this.tags,
            },
            opts,
        );
        const image = this.config.rescueImage;
        const vm = new compute.VirtualMachine(
            ctx.member.name,
            {
                resourceGroupName: where.resourceGroup,
                vmName: where.vmName,
                location,
                zones: zone ? [zone] : undefined,
                hardwareProfile: { vmSize: this.config.rescueVmSize ?? rescueVmSize(ctx.pool.capacity) },
                storageProfile: {
                    imageReference: { publisher: image.publisher, offer: image.offer, sku: image.sku, version: image.version },
                    osDisk: { createOption: "FromImage", managedDisk: { storageAccountType: "StandardSSD_LRS" }, deleteOption: "Delete" },
                },
                osProfile: {
                    computerName: where.vmName,
                    adminUsername: "rescue",
                    customData: Buffer.from(rescueCloudInit()).toString("base64"),
                    linuxConfiguration: {
                        disablePasswordAuthentication: true,
                        provisionVMAgent: true,
                        ssh: { publicKeys: [{ path: "/home/rescue/.ssh/authorized_keys", keyData: unusableSshKey() }] },
                    },
                },
                networkProfile: { networkInterfaces: [{ id: nic.id, primary: true, deleteOption: "Delete" }] },
                diagnosticsProfile: { bootDiagnostics: { enabled: true } },
                tags: { ...this.tags, "bootloop-rescue-role": "rescue" },
            },
            // Pinned for the life of the pool, like its data disks: a new image or cloud-init would
            // replace the VM and kill the repairs on it; they apply to pools created after them.
            // (The tools travel in their own Run Command, versioned.)
            pulumi.mergeOptions(opts, {
                ignoreChanges: ["storageProfile.dataDisks", "storageProfile.imageReference", "osProfile.customData"],
                customTimeouts: { create: "30m", delete: "30m" },
            }),
        );
        // The tools travel once per rescue VM, not in every repair (state stays small per VM).
        where.tools = new compute.VirtualMachineRunCommandByVirtualMachine(
            `${ctx.member.name}-tools`,
            {
                resourceGroupName: where.resourceGroup,
                vmName: vm.name,
                location,
                source: { script: toolsScript() },
                asyncExecution: false,
                treatFailureAsDeploymentFailure: true,
                timeoutInSeconds: 1800,
                tags: this.tags,
            },
            // New tags alone must not send the tools again (an update runs the command).
            pulumi.mergeOptions(opts, { dependsOn: [vm], ignoreChanges: ["tags"], customTimeouts: { create: "40m", update: "40m" } }),
        );
        const step = { resource: vm, id: vm.id };
        this.details.set(step, where);
        return step;
    }
}
