# Swap + start + verify: deallocates the VM, sets its OS disk to the fixed disk (the original OS
# disk stays, detached and tagged), starts it and waits for a real boot signal: running, and the
# VM agent reporting Ready from inside Windows. Idempotent: a VM already running on the fixed disk
# with its agent ready is left alone. Prints one JSON report. The repair evidence it is given
# (EVIDENCE, packed) only stays in its environment, for the record after teardown.
need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME ORIGINAL_DISK_ID FIXED_DISK_ID VM_LABEL BOOT_TIMEOUT_SECONDS
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect RESOURCE_GROUP "$PATTERN_RESOURCE_GROUP"
expect VM_NAME "$PATTERN_VM_NAME"
expect ORIGINAL_DISK_ID "$PATTERN_DISK_ID"
expect FIXED_DISK_ID "$PATTERN_DISK_ID"
expect BOOT_TIMEOUT_SECONDS '^[0-9]{1,6}(\.[0-9]+)?$'
started=$SECONDS

report() { swap_report "$1" "$2" vm=VM_NAME originalDiskId=ORIGINAL_DISK_ID fixedDiskId=FIXED_DISK_ID; }

swap_preamble

rollback_hint="the original OS disk $ORIGINAL_DISK_ID is untouched and kept for rollback"
vm_now

if [[ $(lower "$disk") == $(lower "$FIXED_DISK_ID") && $power == running && $agent == Ready ]]; then
    log "$VM_LABEL: already running on the fixed disk with its agent ready; nothing to do"
    report recovered true
    exit 0
fi

if [[ $(lower "$disk") == $(lower "$ORIGINAL_DISK_ID") ]]; then
    t=$SECONDS
    [[ $power == deallocated ]] || deallocate "nothing was swapped; $rollback_hint"
    power=deallocated
    stop_s=$((SECONDS - t))
    t=$SECONDS
    az_json disk update --ids "$ORIGINAL_DISK_ID" --set "tags.bootloop-rescue-role=original-os" "tags.bootloop-rescue-replaced-by=${FIXED_DISK_ID##*/}" >/dev/null
    log "$VM_LABEL: setting the OS disk of $VM_NAME to the fixed disk (the original stays, detached)"
    set_os_disk "$FIXED_DISK_ID" "$rollback_hint"
    swap_s=$((SECONDS - t))
elif [[ $(lower "$disk") != $(lower "$FIXED_DISK_ID") ]]; then
    fail "$VM_LABEL: the OS disk of $VM_NAME is $disk, neither the original nor the fixed disk; someone changed it, so nothing is done"
fi

# The power state is known from here on (observed above, or deallocated by this step). A start of
# a VM still deallocating is refused as a conflict and retried until it can start.
t=$SECONDS
if [[ $power != running && $power != starting ]]; then
    log "$VM_LABEL: starting $VM_NAME on the fixed disk"
    az_json vm start "${vm_args[@]}" --no-wait >/dev/null
fi
wait_vm healthy "$BOOT_TIMEOUT_SECONDS" "disk=$FIXED_DISK_ID" ||
    fail "$VM_LABEL: $VM_NAME did not report its VM agent Ready within $BOOT_TIMEOUT_SECONDS s on the fixed disk (power ${seen[power]:-unknown}, agent ${seen[agent]:-unknown}); check its boot diagnostics; $rollback_hint"
boot_s=$((SECONDS - t))
log "$VM_LABEL: running on the fixed disk, VM agent Ready"
report recovered false
