# Rollback: puts the original OS disk back. Deallocates the VM, sets its OS disk to the original
# (the disk of ours it ran on, fixed or restored, stays, detached) and starts it; it does not wait
# for a healthy boot (the original holds what made it fail). A VM already on its original disk is
# left alone, with a message. An OS disk that is neither the original nor one of ours is refused.
# Prints one JSON report.
need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME ORIGINAL_DISK_ID VM_LABEL
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect RESOURCE_GROUP "$PATTERN_RESOURCE_GROUP"
expect VM_NAME "$PATTERN_VM_NAME"
expect ORIGINAL_DISK_ID "$PATTERN_DISK_ID"
started=$SECONDS
REPLACED=

report() { rollback_report "$1" "$2" "$REPLACED"; }

vm_now
if [[ $(lower "$disk") == $(lower "$ORIGINAL_DISK_ID") ]]; then
    before=false
    [[ $(disk_tag "$ORIGINAL_DISK_ID" bootloop-rescue-role) == original-os ]] && before=true
    rollback_noop "OS disk" "${ORIGINAL_DISK_ID##*/}" "$before"
fi
role=$(disk_tag "$disk" bootloop-rescue-role)
owner=$(disk_tag "$disk" bootloop-rescue-vm)
if [[ ! $role =~ ^(fixed|restored)$ || $(lower "$owner") != $(lower "$VM_NAME") ]]; then
    fail "$VM_LABEL: the OS disk of $VM_NAME is $disk, neither the original $ORIGINAL_DISK_ID nor a disk bootloop-rescue made for this VM; nothing is done"
fi
REPLACED=$disk

t=$SECONDS
[[ $power == deallocated ]] || deallocate "nothing was rolled back"
stop_s=$((SECONDS - t))
t=$SECONDS
log "$VM_LABEL: setting the OS disk of $VM_NAME back to the original (${REPLACED##*/} stays, detached)"
set_os_disk "$ORIGINAL_DISK_ID" "the VM stays deallocated"
swap_s=$((SECONDS - t))
t=$SECONDS
az_json vm start "${vm_args[@]}" --no-wait >/dev/null
wait_power running "$VM_NAME did not reach running on its original OS disk"
boot_s=$((SECONDS - t))
message="runs on its original OS disk again; ${REPLACED##*/} is kept, detached"
log "$VM_LABEL: $message"
report rolled-back "$message"
