# Azure helpers for the scripts that act on the affected VM (swap, reboot, rollback), after
# common.sh. The attach and detach scripts never include them.

# The VM these scripts act on (after `need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME` and their checks).
vm_args=(--subscription "${SUBSCRIPTION_ID:-}" -g "${RESOURCE_GROUP:-}" -n "${VM_NAME:-}")
VM_ID="/subscriptions/${SUBSCRIPTION_ID:-}/resourceGroups/${RESOURCE_GROUP:-}/providers/Microsoft.Compute/virtualMachines/${VM_NAME:-}"
watch_subscription "${SUBSCRIPTION_ID:-}"
STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-900}

# vm_now: the VM's power state, agent status and OS disk (lowercase), freshly observed, in
# $power, $agent and $disk.
vm_now() {
    observe vm "$VM_ID"
    power=${seen[power]} agent=${seen[agent]} disk=${seen[osdisk]}
}
# disk_tag DISK_ID KEY: the value of one of the disk's tags ("" when it has none). The answer is
# read whole before jq_node starts (piped, the two would hold two places at the gate at once).
disk_tag() {
    local answer
    answer=$(az_json disk show --ids "$1") || return
    KEY=$2 jq_node '(o.tags || {})[process.env.KEY] || ""' <<<"$answer"
}

# wait_vm WANT SECONDS [disk=ID]: 0 once the VM is in WANT (a power state, ready, healthy, os-disk).
wait_vm() { wait_for vm "$VM_ID" "$@"; }

# wait_power STATE MESSAGE: waits up to STOP_TIMEOUT_SECONDS for the power state; fails with MESSAGE.
wait_power() { wait_vm "$1" "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $2"; }

# deallocate HINT: deallocates the VM and waits for it; fails with HINT.
deallocate() {
    log "$VM_LABEL: deallocating $VM_NAME"
    az_json vm deallocate "${vm_args[@]}" --no-wait >/dev/null
    wait_power deallocated "$VM_NAME did not deallocate within $STOP_TIMEOUT_SECONDS s; $1"
}

# set_os_disk DISK_ID HINT: makes DISK_ID the VM's OS disk and waits until the VM shows it.
set_os_disk() {
    az_json vm update "${vm_args[@]}" --os-disk "$1" --no-wait >/dev/null
    wait_vm os-disk "$STOP_TIMEOUT_SECONDS" "disk=$1" || fail "$VM_LABEL: the OS disk swap could not be verified; $2"
}
