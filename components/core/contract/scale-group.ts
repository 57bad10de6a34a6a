/**
 * The recovery chain refuses a member of a scale group (EC2 Auto Scaling group, GCE managed
 * instance group, Azure scale set): the chain stops the VM and swaps its OS disk, and the group,
 * seeing a member stopped or failing its health check, would replace it mid-swap (terminating or
 * recreating it, with the fixed disk attached or not). Protecting the member for the swap would
 * mean changing the group (suspending processes, standby, abandoning), which this read-and-repair
 * tool does not do to resources it does not own; the operator does it and lists the VM again.
 */
export function scaleGroupMember(group: ScaleGroup): Error {
    return new Error(
        `it is a member of ${group.name}, which would replace it while its OS disk is swapped; ${group.leave}, or let the group replace it instead`,
    );
}

/** A scale group a VM belongs to, as each cloud names it, and how an operator takes the VM out of it. */
export interface ScaleGroup {
    /** `Auto Scaling group web-asg`, `scale set web-vmss`, `managed instance group web-mig`. */
    name: string;
    /** What to do first, e.g. `detach it from the group (aws autoscaling detach-instances …) first`. */
    leave: string;
}
