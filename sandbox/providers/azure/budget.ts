// What the stand-in azure-native provider's calls spend from the simulated Azure's budget
// (sandbox/cli/budget.js), from the same buckets as the az stand-in's calls: Resource Manager's read,
// write or delete bucket of the resource's subscription (its resource group's), and for a VM (and
// its Run Commands) Compute's VM policy per VM and per subscription: a create is Put VM, an update
// or a Run Command's write Update VM, a delete Delete VM, a read or lookup Low Cost Get VM. Each
// poll of a long-running operation is a read (Get Operation for a VM's). Throttled, the provider
// retries (sandbox/world/requests.ts) and in the end fails with the 429 as azure-native reports it.
import { ProviderCall } from "../host";
import { BudgetRequest, budget, spendAsProvider } from "../../world/requests";
import { World, worldFile } from "../../world/world-file";
import { ArmError } from "./arm";

/** The subscription a resource group is in (the az stand-in's default when the world does not know the group). */
function subscriptionOf(world: World, props: Record<string, unknown>): string {
    const fromId = /^\/subscriptions\/([^/]+)\//i.exec(str(props.id))?.[1];
    const groups = (world.resourceGroups ?? {}) as Record<string, { subscription?: string } | undefined>;
    return (
        fromId ??
        groups[str(props.resourceGroupName).toLowerCase()]?.subscription ??
        (world.subscription as string | undefined) ??
        "11111111-2222-3333-4444-555555555555"
    );
}

/** A string property, or "" when it is none. */
const str = (v: unknown): string => (typeof v === "string" ? v : "");

const KIND = { create: "write", update: "write", delete: "delete", read: "read", invoke: "read" } as const;
const VM_POLICY = {
    create: "Put VM",
    update: "Update VM",
    delete: "Delete VM",
    read: "Low Cost Get VM",
    invoke: "Low Cost Get VM",
} as const;

/** The VM a call acts on (group/name), when it is a VM's or a VM's Run Command's. */
function vmOf(call: ProviderCall): string | undefined {
    const rg = str(call.props.resourceGroupName);
    if (call.token === "azure-native:compute:VirtualMachine" || call.token === "azure-native:compute:getVirtualMachine")
        return `${rg}/${str(call.props.vmName) || str(call.props.name)}`;
    if (call.token === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine") return `${rg}/${str(call.props.vmName)}`;
    return undefined;
}

/** The request a provider call makes. */
export function requestOf(world: World, call: ProviderCall): BudgetRequest {
    const vm = vmOf(call);
    const runCommand = call.token.endsWith("RunCommandByVirtualMachine");
    // A Run Command's create, update and delete are all under Compute's Update VM policy.
    const policy = vm ? (runCommand && call.op !== "read" ? "Update VM" : VM_POLICY[call.op]) : undefined;
    return budget.armRequest(subscriptionOf(world, call.props), `${call.token.split(":").pop()} ${call.op}`, KIND[call.op], policy, vm);
}

/** Spends the requests `make` names from the Azure world's budget; the provider's 429 when its retries run out. */
function spend(make: (world: World) => BudgetRequest[]): Promise<void> | undefined {
    return spendAsProvider(
        worldFile("FAKE_AZ_STATE"),
        make,
        (r, v) =>
            new ArmError(
                429,
                "TooManyRequests",
                `The request is being throttled (${v.bucket.slice(v.bucket.indexOf("|") + 1)}). Please try again after '${v.retryAfterSeconds}' seconds.`,
                `${r.api} in subscription ${r.scope}`,
            ),
    );
}

/** The stand-in provider's meter: one request per call. */
export const meter = (call: ProviderCall): Promise<void> | undefined => spend((world) => [requestOf(world, call)]);

/** A poll of a long-running operation on a resource in `props`' group: a read (Get Operation for a VM's, `vm` its group/name). */
export const pollOperation = (props: Record<string, unknown>, vm?: string): Promise<void> | undefined =>
    spend((world) => [budget.armRequest(subscriptionOf(world, props), "operation status", "read", vm ? "Get Operation" : undefined, vm)]);
