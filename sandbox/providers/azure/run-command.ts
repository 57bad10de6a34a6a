// Run Commands of the stand-in azure-native provider
// (azure-native:compute:VirtualMachineRunCommandByVirtualMachine): a script run on a VM through its
// agent. Creating one (and updating it, which runs it again) runs the script on the simulated VM
// (world/azure-rescue-run.ts) and keeps its instance view where `az vm run-command show` reads it.
// With treatFailureAsDeploymentFailure a script that fails fails the deployment, as in Azure.
import { StandInResource, Props } from "../host";
import { AzRunCommand, AzureWorld, runCommandKey, vmKey } from "../../world/azure-model";
import { runOnRescueVm } from "../../world/azure-rescue-run";
import { ArmError, azureTime, idIn, location, logicalName, obj, request, required, tagsOf, peekWorld, withWorld, text } from "./arm";

const TYPE = "Microsoft.Compute/virtualMachines/runCommands";
const RUN_COMMAND_ID =
    /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/runCommands\/([^/]+)$/i;

/** The world key of the Run Command an id names. */
function keyOf(id: string): string {
    const m = RUN_COMMAND_ID.exec(id);
    return m ? runCommandKey(m[1], m[2], m[3]) : id.toLowerCase();
}

/** Its parameters and protected parameters as the script's environment (name → value). */
function environment(inputs: Props): Record<string, string> {
    const pairs = [
        ...((inputs.parameters as unknown[] | undefined) ?? []),
        ...((inputs.protectedParameters as unknown[] | undefined) ?? []),
    ].map(obj);
    return Object.fromEntries(pairs.map((p) => [text(p.name), text(p.value)]));
}

/** The outputs the provider adds (the PUT's answer carries no instance view: the evidence stays out of state). */
const runOuts = (r: AzRunCommand) => ({ name: r.name, type: TYPE, provisioningState: r.provisioningState });

/** Runs the Run Command `name` on VM `vm` of group `rg`: the instance view it leaves, or the deployment's failure. */
function run(world: AzureWorld, rg: string, vm: string, name: string, inputs: Props, id: string): AzRunCommand {
    const target = world.vms[vmKey(rg, vm)];
    const vmId = id.slice(0, id.lastIndexOf("/runCommands/"));
    if (!target)
        throw new ArmError(
            404,
            "ParentResourceNotFound",
            `Failed to perform 'write' on resource(s) of type 'virtualMachines/runCommands', because the parent resource '${vmId}' could not be found.`,
            request("PUT", id),
        );
    if (target.power !== "running" || target.agent !== "Ready")
        throw new ArmError(
            409,
            "OperationNotAllowed",
            "Cannot modify extensions in the VM when the VM is not running.",
            request("PUT", id),
        );
    const started = azureTime();
    const result = runOnRescueVm(world, target, text(obj(inputs.source).script), environment(inputs), name, new Date());
    const failed = result.exitCode !== 0;
    if (failed && inputs.treatFailureAsDeploymentFailure === true) {
        const reason = result.error.trim().split("\n").pop() || result.output.trim().split("\n").pop() || "";
        throw new ArmError(
            200,
            "VMExtensionProvisioningError",
            `VM has reported a failure when processing extension 'RunCommandHandlerLinux' (publisher 'Microsoft.CPlat.Core' and type 'RunCommandHandlerLinux'). Error message: 'Execution failed with exit code ${result.exitCode}: ${reason}'.`,
            request("PUT", id),
        );
    }
    return {
        id,
        name,
        location: location(inputs.location, target.location),
        tags: tagsOf(inputs.tags),
        provisioningState: "Succeeded",
        executionState: failed ? "Failed" : "Succeeded",
        exitCode: result.exitCode,
        output: result.output,
        error: result.error,
        startTime: started,
        endTime: azureTime(),
    };
}

/** azure-native:compute:VirtualMachineRunCommandByVirtualMachine. */
export const runCommandResource: StandInResource = {
    // Replaced when a path parameter changes (resourceGroupName, runCommandName, vmName): azure-native's
    // Diff replaces on every path parameter (provider/pkg/provider/diff.go), and the schema marks no
    // other property willReplaceOnChanges (danielrbradley/pulumi-azure-native-schema,
    // compute/resources/VirtualMachineRunCommandByVirtualMachine.yaml). Any other change is a PUT,
    // which runs the script again.
    replaceOn: ["resourceGroupName", "runCommandName", "vmName"],
    create(inputs, urn) {
        const rg = required(inputs, "resourceGroupName", "azure-native:compute:VirtualMachineRunCommandByVirtualMachine");
        const vm = required(inputs, "vmName", "azure-native:compute:VirtualMachineRunCommandByVirtualMachine");
        // A child resource: azure-native names it by its logical name, without a random suffix.
        const name = (inputs.runCommandName as string | undefined) ?? logicalName(urn);
        return withWorld((world) => {
            const id = `${idIn(world, rg, "Microsoft.Compute/virtualMachines", vm)}/runCommands/${name}`;
            world.runCommands ??= {};
            if (world.runCommands[runCommandKey(rg, vm, name)]) throw new Error(`cannot create already existing resource '${id}'`);
            const made = run(world, rg, vm, name, inputs, id);
            world.runCommands[runCommandKey(rg, vm, name)] = made;
            return { id, outs: runOuts(made) };
        });
    },
    read(id) {
        return peekWorld((world) => {
            const r = (world.runCommands ?? {})[keyOf(id)];
            return r && typeof r === "object" ? { ...runOuts(r), tags: r.tags } : undefined;
        });
    },
    update(id, _olds, news) {
        const m = RUN_COMMAND_ID.exec(id);
        if (!m) throw new Error(`not a Run Command id: ${id}`);
        return withWorld((world) => {
            const made = run(world, m[1], m[2], m[3], news, id);
            world.runCommands[keyOf(id)] = made;
            return runOuts(made);
        });
    },
    delete(id) {
        withWorld((world) => {
            delete (world.runCommands ?? {})[keyOf(id)];
        });
    },
};
