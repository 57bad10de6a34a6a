import { CloudRunner } from "../gate/types";
import { CloudAction, StepCall } from "../watcher/types";
import { COMPUTE_API_VERSION, parseVmId } from "./api";
import { armClient } from "./arm-client";

/**
 * The Azure steps' calls the watcher makes itself, as requests of Resource Manager's REST API in its
 * own process (./api.ts: the observations' client, endpoint, tokens, timeouts and size bounds), each
 * through the gate under the op the step named (its rate class and budget). Only these exact argv
 * shapes (after `az`; `az_json` in scripts/common.sh appends `--output json --only-show-errors`) are
 * taken; any other (another flag, order or output, a missing or extra argument, a value that is not
 * a subscription id, group, VM name or disk id) is left to the CLI:
 *
 *   vm restart|start|deallocate --subscription S -g G -n N --no-wait --output json --only-show-errors
 *       → POST /subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/virtualMachines/N/{restart|start|deallocate}
 *         (202 Accepted: a long-running operation that, as with --no-wait, is not waited for)
 *         https://learn.microsoft.com/rest/api/compute/virtual-machines/restart (…/start, …/deallocate)
 *   vm update --subscription S -g G -n N --os-disk DISK_ID --no-wait --output json --only-show-errors
 *       → PATCH …/virtualMachines/N {"properties": {"storageProfile": {"osDisk": {"managedDisk": {"id": DISK_ID},
 *         "name": DISK_NAME}}}}: the two fields az's `vm update --os-disk` sets on the VM it read (az then
 *         PUTs the whole VM back; the PATCH changes those two alone, in one request, and loses no
 *         concurrent change of another field). Not waited for (--no-wait); the step waits for the VM
 *         to show the disk. https://learn.microsoft.com/rest/api/compute/virtual-machines/update
 *         (VirtualMachineUpdate takes storageProfile; an OS disk swap by PATCH of a deallocated VM is
 *         what the .NET SDK's VirtualMachinePatch does, https://github.com/Azure/azure-sdk-for-net/issues/37285.
 *         Microsoft's swap guide itself shows only az and PowerShell, both read-then-PUT: this is
 *         the one request of the chain not compared with the real CLI's own.)
 *
 * Each prints nothing (az prints nothing with --no-wait; the scripts discard it): `out` is "".
 * The scope the step named (`subscription`) must be S: the request is counted where the CLI call
 * would have been.
 */
export function azureAction(call: StepCall): CloudAction | undefined {
    if (call.command !== "az") return undefined;
    const a = call.args;
    const tail = ["--no-wait", "--output", "json", "--only-show-errors"];
    const vmHead = (verb: string) =>
        a[0] === "vm" && a[1] === verb && a[2] === "--subscription" && a[4] === "-g" && a[6] === "-n" && a.length >= 8;
    const endsWith = (from: number) => a.length === from + tail.length && tail.every((t, i) => a[from + i] === t);
    const verb = a[1];
    if (call.op !== `vm ${verb}`) return undefined;
    if ((verb === "restart" || verb === "start" || verb === "deallocate") && vmHead(verb) && endsWith(8)) {
        const vm = vmPath(a[3], a[5], a[7], call);
        if (!vm) return undefined;
        return {
            run: (runner) => send(runner, call.op, vm, "POST", `${vm.path}/${verb}`),
            // A start or deallocation made twice changes nothing more; a restart would restart again.
            repeatable: verb !== "restart",
        };
    }
    if (verb === "update" && vmHead(verb) && a[8] === "--os-disk" && endsWith(10)) {
        const vm = vmPath(a[3], a[5], a[7], call);
        const disk = DISK_ID.exec(a[9]);
        if (!vm || !disk) return undefined;
        const body = { properties: { storageProfile: { osDisk: { managedDisk: { id: a[9] }, name: disk[1] } } } };
        return {
            run: (runner) => send(runner, call.op, vm, "PATCH", vm.path, body),
            // The same disk set twice.
            repeatable: true,
        };
    }
    return undefined;
}

/** One Compute request of the VM's, under the step's op, with Compute's API version; it prints nothing (`--no-wait`). */
async function send(
    runner: CloudRunner,
    op: string,
    vm: { scope: string; subscription: string },
    method: "POST" | "PATCH",
    path: string,
    body?: unknown,
): Promise<string> {
    await armClient().send(runner, {
        scope: vm.scope,
        op,
        subscription: vm.subscription,
        method,
        path,
        query: { "api-version": COMPUTE_API_VERSION },
        ...(body === undefined ? {} : { body }),
    });
    return "";
}

/** A managed disk's id as the scripts check it (scripts/common.sh), its name never ending in a period: the name. */
const DISK_ID =
    /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/resourceGroups\/[\p{L}\p{N}_.()-]{0,89}[\p{L}\p{N}_()-]\/providers\/Microsoft\.Compute\/disks\/([A-Za-z0-9_.-]{0,79}[A-Za-z0-9_-])$/iu;

/** The VM's path (its resource id, URL-safe) from the call's subscription, group and name, or undefined when they are not one; its scope the step's. */
function vmPath(subscription: string, group: string, name: string, call: StepCall) {
    const id = `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${name}`;
    const vm = parseVmId(id);
    if (!vm || (call.fields.subscription ?? "").toLowerCase() !== vm.subscription.toLowerCase()) return undefined;
    return {
        scope: vm.subscription.toLowerCase(),
        subscription: vm.subscription,
        path: `/subscriptions/${vm.subscription}/resourceGroups/${encodeURIComponent(vm.group)}/providers/Microsoft.Compute/virtualMachines/${encodeURIComponent(vm.name)}`,
    };
}
