# Reboot: restarts the VM up to MAX_REBOOTS times and stops at the first healthy boot (running,
# and the VM agent reporting Ready from inside Windows). A VM that is healthy already gets no
# restart. Changes no disk. Prints one JSON report; with MUST_RECOVER=true a VM that never boots
# healthy reports status failed (its own outcome).
need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME VM_LABEL MAX_REBOOTS REBOOT_TIMEOUT_SECONDS MUST_RECOVER
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect RESOURCE_GROUP "$PATTERN_RESOURCE_GROUP"
expect VM_NAME "$PATTERN_VM_NAME"

vm_healthy_within() { wait_vm ready "$1"; }
vm_restart() {
    vm_now
    case $power in
        running | starting) az_json vm restart "${vm_args[@]}" --no-wait >/dev/null ;;
        *) az_json vm start "${vm_args[@]}" --no-wait >/dev/null ;;
    esac
}

reboot_until_healthy
