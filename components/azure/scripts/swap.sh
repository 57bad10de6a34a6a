# Swap + start + verify: deallocates the VM, sets its OS disk to the fixed disk (the original OS
# disk stays, detached and tagged), starts it and waits for a real boot signal: running, and the
# VM agent reporting Ready from inside Windows. Idempotent: a VM already running on the fixed disk
# with its agent ready is left alone. Prints one JSON report, with the repair evidence it was given.
need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME ORIGINAL_DISK_ID FIXED_DISK_ID VM_LABEL BOOT_TIMEOUT_SECONDS
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect RESOURCE_GROUP "$PATTERN_RESOURCE_GROUP"
expect VM_NAME "$PATTERN_VM_NAME"
expect ORIGINAL_DISK_ID "$PATTERN_DISK_ID"
expect FIXED_DISK_ID "$PATTERN_DISK_ID"
expect BOOT_TIMEOUT_SECONDS '^[0-9]{1,6}$'
started=$SECONDS
healthy() { local v; v=$(view) && [[ $(power <<<"$v") == running && $(agent <<<"$v") == Ready && $(lower "$(os_disk <<<"$v")") == $(lower "$FIXED_DISK_ID") ]]; }

report() { swap_report "$1" "$2" vm=VM_NAME originalDiskId=ORIGINAL_DISK_ID fixedDiskId=FIXED_DISK_ID evidence=EVIDENCE; }

swap_preamble

rollback_hint="the original OS disk $ORIGINAL_DISK_ID is untouched and kept for rollback"
current=$(view)
disk=$(lower "$(os_disk <<<"$current")")
state=$(power <<<"$current")

if [[ $disk == $(lower "$FIXED_DISK_ID") && $state == running && $(agent <<<"$current") == Ready ]]; then
    log "$VM_LABEL: already running on the fixed disk with its agent ready; nothing to do"
    report recovered true
    exit 0
fi

if [[ $disk == $(lower "$ORIGINAL_DISK_ID") ]]; then
    t=$SECONDS
    [[ $state == deallocated ]] || deallocate "nothing was swapped; $rollback_hint"
    stop_s=$((SECONDS - t))
    t=$SECONDS
    az_json disk update --ids "$ORIGINAL_DISK_ID" --set "tags.bootloop-rescue-role=original-os" "tags.bootloop-rescue-replaced-by=${FIXED_DISK_ID##*/}" >/dev/null
    log "$VM_LABEL: setting the OS disk of $VM_NAME to the fixed disk (the original stays, detached)"
    az_json vm update "${vm_args[@]}" --os-disk "$FIXED_DISK_ID" >/dev/null
    [[ $(lower "$(view | os_disk)") == $(lower "$FIXED_DISK_ID") ]] || fail "$VM_LABEL: the OS disk swap could not be verified; $rollback_hint"
    swap_s=$((SECONDS - t))
elif [[ $disk != $(lower "$FIXED_DISK_ID") ]]; then
    fail "$VM_LABEL: the OS disk of $VM_NAME is $disk, neither the original nor the fixed disk; someone changed it, so nothing is done"
fi

t=$SECONDS
state=$(view | power)
if [[ $state != running && $state != starting ]]; then
    log "$VM_LABEL: starting $VM_NAME on the fixed disk"
    az_json vm start "${vm_args[@]}" >/dev/null
fi
until_deadline "$BOOT_TIMEOUT_SECONDS"
until healthy; do
    expired && fail "$VM_LABEL: $VM_NAME did not report its VM agent Ready within $BOOT_TIMEOUT_SECONDS s on the fixed disk; check its boot diagnostics; $rollback_hint"
    pause
done
boot_s=$((SECONDS - t))
log "$VM_LABEL: running on the fixed disk, VM agent Ready"
report recovered false
