# Azure helpers for the scripts that act on the affected VM (swap, reboot, rollback), after
# common.sh. The attach and detach scripts never include them.

# The VM these scripts act on (after `need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME` and their checks).
vm_args=(--subscription "${SUBSCRIPTION_ID:-}" -g "${RESOURCE_GROUP:-}" -n "${VM_NAME:-}")
STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-900}

view() { az_json vm get-instance-view "${vm_args[@]}"; }
os_disk() { jq_node 'o.storageProfile.osDisk.managedDisk.id'; }
power() { jq_node '((o.instanceView.statuses || []).find((s) => s.code.startsWith("PowerState/")) || { code: "PowerState/unknown" }).code.slice(11)'; }
agent() { jq_node '((o.instanceView.vmAgent || {}).statuses || [{}])[0].displayStatus || ""'; }
# disk_tag DISK_ID KEY: the value of one of the disk's tags ("" when it has none).
disk_tag() { az_json disk show --ids "$1" | KEY=$2 jq_node '(o.tags || {})[process.env.KEY] || ""'; }

# wait_power STATE MESSAGE: waits up to STOP_TIMEOUT_SECONDS for the power state; fails with MESSAGE.
wait_power() {
    until_deadline "$STOP_TIMEOUT_SECONDS"
    until [[ $(view | power) == "$1" ]]; do
        expired && fail "$VM_LABEL: $2"
        pause
    done
}

# deallocate HINT: deallocates the VM and waits for it; fails with HINT.
deallocate() {
    log "$VM_LABEL: deallocating $VM_NAME"
    az_json vm deallocate "${vm_args[@]}" >/dev/null
    wait_power deallocated "$VM_NAME did not deallocate within $STOP_TIMEOUT_SECONDS s; $1"
}
