# Azure helpers, after core's base.sh.

PATTERN_GUID='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
PATTERN_RESOURCE_GROUP='^[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]$'
PATTERN_VM_NAME='^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?$'
PATTERN_DISK_ID='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9_.()-]{1,90}/providers/Microsoft\.Compute/disks/[A-Za-z0-9_.-]{1,80}$'
PATTERN_VM_ID='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9_.()-]{1,90}/providers/Microsoft\.Compute/virtualMachines/[A-Za-z0-9_.-]{1,64}$'

# az_json ARGS...: one Azure CLI call, JSON on stdout. Throttling (429), conflicts with another
# operation on the same VM (409) and transient errors are retried with backoff.
az_json() {
    with_retries 'TooManyRequests|429|RetryableError|Conflict|OperationNotAllowed.*another operation|in progress|ServiceUnavailable|InternalServerError|GatewayTimeout' "az $1 $2 $3" \
        az "$@" --output json --only-show-errors
}

# lower TEXT: Azure resource ids compare without regard to case.
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }


# The VM these scripts act on (after `need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME` and their checks).
vm_args=(--subscription "${SUBSCRIPTION_ID:-}" -g "${RESOURCE_GROUP:-}" -n "${VM_NAME:-}")
STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-900}

view() { az_json vm get-instance-view "${vm_args[@]}"; }
os_disk() { jq_node 'o.storageProfile.osDisk.managedDisk.id'; }
power() { jq_node '((o.instanceView.statuses || []).find((s) => s.code.startsWith("PowerState/")) || { code: "PowerState/unknown" }).code.slice(11)'; }
agent() { jq_node '((o.instanceView.vmAgent || {}).statuses || [{}])[0].displayStatus || ""'; }
# disk_tag DISK_ID KEY: the value of one of the disk's tags ("" when it has none).
disk_tag() { az_json disk show --ids "$1" | KEY=$2 jq_node '(o.tags || {})[process.env.KEY] || ""'; }

# deallocate HINT: deallocates the VM and waits for it; fails with HINT.
deallocate() {
    log "$VM_LABEL: deallocating $VM_NAME"
    az_json vm deallocate "${vm_args[@]}" >/dev/null
    until_deadline "$STOP_TIMEOUT_SECONDS"
    until [[ $(view | power) == deallocated ]]; do
        expired && fail "$VM_LABEL: $VM_NAME did not deallocate within $STOP_TIMEOUT_SECONDS s; $1"
        pause
    done
}
