/**
 * The recovery chain refuses a member of a scale group (EC2 Auto Scaling group, GCE managed
 * instance group, Azure scale set): the chain stops the VM and swaps its OS disk, and the group,
 * seeing a member stopped or failing its health check, would replace it mid-swap (terminating or
 * recreating it, with the fixed disk attached or not). Protecting the member for the swap would
 * mean changing the group (suspending processes, standby, abandoning), which this read-and-repair
 * tool does not do to resources it does not own; the operator does it and lists the VM again.
 */
export function scaleGroupMember(group: string, leave: string): Error {
    return new Error(`it is a member of ${group}, which would replace it while its OS disk is swapped; ${leave}, or let the group replace it instead`);
}
