# Azure helpers, after core's base.sh.

PATTERN_GUID='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
PATTERN_RESOURCE_GROUP='^[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]$'
PATTERN_VM_NAME='^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?$'
PATTERN_DISK_ID='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9_.()-]{1,90}/providers/Microsoft\.Compute/disks/[A-Za-z0-9_.-]{1,80}$'
PATTERN_VM_ID='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9_.()-]{1,90}/providers/Microsoft\.Compute/virtualMachines/[A-Za-z0-9_.-]{1,64}$'
PATTERN_RUN_COMMAND_ID="${PATTERN_VM_ID%\$}/runCommands/[A-Za-z0-9_.-]{1,80}\$"

# az_json ARGS...: one Azure CLI call through the watcher's gate, JSON on stdout. Throttling (429),
# conflicts with another operation on the same VM (409), the CLI's token-cache lock and transient
# errors are retried with backoff until the step's deadline.
az_json() {
    local op="$1 $2"
    [[ $1 == vm && ($2 == disk || $2 == run-command) ]] && op="$1 $2 $3"
    cloud_call "$op" az "$@" --output json --only-show-errors
}

# lower TEXT: Azure resource ids compare without regard to case.
lower() { printf '%s' "${1,,}"; }

WATCH_CLOUD=azure
# The scope is the subscription of the object the script acts on (set by each script).
watch_subscription() { WATCH_SCOPE=$'\t'"subscription=$1"; }
