// The sandbox's stand-in azure-native provider: the resource types and lookups components/azure
// declares and calls, on the simulated Azure the az stand-in (sandbox/cli/azure/az) answers from
// (FAKE_AZ_STATE). The explicit per-subscription providers (pulumi:providers:azure-native) need
// nothing here: the engine configures them through the provider server itself.
import { StandInProvider, serve } from "./host";
import { diskResource, snapshotResource } from "./azure/disks";
import { azureLookups } from "./azure/lookups";
import { networkInterfaceResource, networkSecurityGroupResource } from "./azure/network";
import { runCommandResource } from "./azure/run-command";
import { meter } from "./azure/budget";
import { virtualMachineResource } from "./azure/virtual-machine";

/** The stand-in for @pulumi/azure-native 3.28.0. */
export const azureStandIn: StandInProvider = {
    name: "azure-native",
    version: "3.28.0",
    resources: {
        "azure-native:compute:Snapshot": snapshotResource,
        "azure-native:compute:Disk": diskResource,
        "azure-native:compute:VirtualMachine": virtualMachineResource,
        "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": runCommandResource,
        "azure-native:network:NetworkInterface": networkInterfaceResource,
        "azure-native:network:NetworkSecurityGroup": networkSecurityGroupResource,
    },
    invokes: azureLookups,
    meter,
};

if (require.main === module) void serve(azureStandIn);
