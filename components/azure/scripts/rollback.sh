# Rollback: puts the original OS disk back. Deallocates the VM, sets its OS disk to the original
# (the disk of ours it ran on, fixed or restored, stays, detached) and starts it; it waits for
# running, not for a healthy boot (the original holds what made it fail). A VM already on its
# original disk and running is left alone, with a message; one on its original disk but not
# running (a rollback cut short between its disk swap and its start, or whose start was refused) is
# started and must reach running, or the step fails with the reason. Either way the report names
# the disk the swap put in (the original's replaced-by mark). An OS disk that is neither the
# original nor one of ours is refused. Prints one JSON report.
need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME ORIGINAL_DISK_ID VM_LABEL
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect RESOURCE_GROUP "$PATTERN_RESOURCE_GROUP"
expect VM_NAME "$PATTERN_VM_NAME"
expect ORIGINAL_DISK_ID "$PATTERN_DISK_ID"
started=$SECONDS
REPLACED=

report() { rollback_report "$1" "$2" "$REPLACED"; }

# marked_replacement: 0 when the original carries the swap's mark (role original-os), with the
# disk the swap put in (its replaced-by mark: a name in the VM's resource group, as the stack makes
# its disks, or an id) in REPLACED.
marked_replacement() {
    local role by
    role=$(disk_tag "$ORIGINAL_DISK_ID" bootloop-rescue-role) || fail "$VM_LABEL: cannot read the tags of the original OS disk $ORIGINAL_DISK_ID; nothing is done"
    [[ $role == original-os ]] || return 1
    by=$(disk_tag "$ORIGINAL_DISK_ID" bootloop-rescue-replaced-by) || fail "$VM_LABEL: cannot read the tags of the original OS disk $ORIGINAL_DISK_ID; nothing is done"
    if [[ $by =~ $PATTERN_DISK_ID ]]; then
        REPLACED=$by
    elif [[ $by =~ ^[A-Za-z0-9_.-]{1,80}$ ]]; then
        REPLACED="/subscriptions/$SUBSCRIPTION_ID/resourceGroups/$RESOURCE_GROUP/providers/Microsoft.Compute/disks/$by"
    fi
}

# on_original: the VM's OS disk is its original already. Reports rolled-back (the original
# carries the swap's mark, so it was swapped and rolled back) or not-swapped, once the VM runs: a
# deallocated or stopped one is started here (a starting one waited for), as the rollback's own
# start would have.
on_original() {
    local status=not-swapped message started_now=false
    marked_replacement && status=rolled-back
    t=$SECONDS
    case $power in
        running) ;;
        starting) started_now=true ;;
        deallocating | deallocated | stopping | stopped)
            [[ $power != deallocating ]] || wait_power deallocated "$VM_NAME is on its original OS disk but still deallocating after $STOP_TIMEOUT_SECONDS s; it was not started"
            [[ $power != stopping ]] || wait_power stopped "$VM_NAME is on its original OS disk but still stopping after $STOP_TIMEOUT_SECONDS s; it was not started"
            log "$VM_LABEL: $VM_NAME is $power on its original OS disk; starting it"
            az_json vm start "${vm_args[@]}" --no-wait >/dev/null || fail "$VM_LABEL: $VM_NAME is on its original OS disk but could not be started (the reason is above); it stays $power"
            started_now=true
            ;;
        *) fail "$VM_LABEL: $VM_NAME is on its original OS disk but its power state is ${power:-unknown}; it was not started" ;;
    esac
    if [[ $started_now == true ]]; then
        wait_power running "$VM_NAME did not reach running on its original OS disk"
        boot_s=$((SECONDS - t))
    fi
    rollback_done "$status" "$started_now" "runs on its original OS disk ${ORIGINAL_DISK_ID##*/}"
}

vm_now
if [[ $(lower "$disk") == $(lower "$ORIGINAL_DISK_ID") ]]; then
    on_original
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
