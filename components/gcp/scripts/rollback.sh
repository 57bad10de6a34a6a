# Rollback: puts the original boot disk back. Stops the instance, detaches the disk of ours it
# boots from (fixed or restored: kept), attaches the original as boot disk and starts it; it does
# not wait for a healthy boot (the original holds what made it fail). An instance already on its
# original boot disk is left alone, with a message. A boot disk that is neither the original nor
# one of ours is refused. Prints one JSON report.
need PROJECT ZONE INSTANCE ORIGINAL_DISK VM_LABEL
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect INSTANCE "$PATTERN_NAME"
expect ORIGINAL_DISK "$PATTERN_NAME"
started=$SECONDS
REPLACED=

report() { rollback_report "$1" "$2" "$REPLACED"; }

instance_now
if [[ $boot == "$ORIGINAL_DISK" ]]; then
    before=false
    [[ $(disk_label "$ORIGINAL_DISK" bootloop-rescue-role) == original-boot ]] && before=true
    rollback_noop "boot disk" "$ORIGINAL_DISK" "$before"
fi
if [[ $boot != none ]]; then
    role=$(disk_label "$boot" bootloop-rescue-role)
    owner=$(disk_label "$boot" bootloop-rescue-instance)
    if [[ ! $role =~ ^(fixed|restored)$ || $owner != "$INSTANCE" ]]; then
        fail "$VM_LABEL: the boot disk of $INSTANCE is $boot, neither the original $ORIGINAL_DISK nor a disk bootloop-rescue made for this instance; nothing is done"
    fi
    REPLACED=$boot
fi

t=$SECONDS
if [[ $status != TERMINATED ]]; then
    log "$VM_LABEL: stopping $INSTANCE"
    gc instances stop "$INSTANCE" >/dev/null
    wait_status TERMINATED "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE did not stop within $STOP_TIMEOUT_SECONDS s; nothing was rolled back"
fi
stop_s=$((SECONDS - t))
t=$SECONDS
if [[ -n $REPLACED ]]; then
    log "$VM_LABEL: detaching $REPLACED (kept)"
    gc instances detach-disk "$INSTANCE" --disk "$REPLACED" >/dev/null
fi
log "$VM_LABEL: attaching the original disk $ORIGINAL_DISK as boot disk"
gc instances attach-disk "$INSTANCE" --disk "$ORIGINAL_DISK" --boot >/dev/null
swap_s=$((SECONDS - t))
t=$SECONDS
gc instances start "$INSTANCE" >/dev/null
wait_status RUNNING "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE did not reach RUNNING on its original boot disk"
boot_s=$((SECONDS - t))
message="boots from its original disk $ORIGINAL_DISK again${REPLACED:+; $REPLACED is kept, detached}"
log "$VM_LABEL: $message"
report rolled-back "$message"
