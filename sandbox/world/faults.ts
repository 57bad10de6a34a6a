// Faults a rehearsal can give a VM, to see how the stack handles a VM it cannot recover: set with
// the inventory label `sandbox-fault` (only the sandbox's seeds read it; a real run ignores it as
// any other label). The seed keeps the fault on the VM's original OS disk; each stand-in repair
// traces the disk it repairs back to it.
import { InputError } from "../../components/core/contract/problems";
import { VmEntry } from "../../components/core/contract/vm";
import { nearestName } from "../../components/core/contract/nearest";

/** The label that names a VM's sandbox fault. */
export const FAULT_LABEL = "sandbox-fault";

/**
 * `repair-finds-nothing`: the disk boot-loops for a reason no rule matches, so the repair finds
 * nothing it may change; `never-boots`: the repair moves the faulty file, and the fixed disk still
 * does not boot (the VM never recovers by restarts either).
 */
export const SANDBOX_FAULTS = ["repair-finds-nothing", "never-boots"] as const;
export type SandboxFault = (typeof SANDBOX_FAULTS)[number];

/** The VM's sandbox fault, if its inventory labels name one; an unknown fault is an input error naming the entry. */
export function sandboxFaultOf(vm: VmEntry, file = "the inventory"): SandboxFault | undefined {
    const value = vm.labels[FAULT_LABEL];
    if (value === undefined) return undefined;
    const fault = SANDBOX_FAULTS.find((f) => f === value);
    if (fault) return fault;
    const near = nearestName(value, SANDBOX_FAULTS);
    throw new InputError([
        {
            file,
            entry: vm.index,
            line: vm.line,
            vm: vm.label,
            field: `labels.${FAULT_LABEL}`,
            message: `${JSON.stringify(value)} is not a sandbox fault (${SANDBOX_FAULTS.join(" or ")})${near ? `; did you mean ${near}?` : ""}`,
        },
    ]);
}
