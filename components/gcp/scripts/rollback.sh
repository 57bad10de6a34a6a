# Rollback: puts the original boot disk back. Stops the instance, detaches the disk of ours it
# boots from (fixed or restored: kept), attaches the original as boot disk and starts it; it waits
# for RUNNING, not for a healthy boot (the original holds what made it fail). An instance already
# on its original boot disk and running is left alone, with a message; one on its original boot
# disk but not running (a rollback cut short between its attach and its start, or whose start was
# refused) is started and must reach RUNNING, or the step fails with the reason. Either way the
# report names the disk the swap put in (the original's replaced-by label). A boot disk that is
# neither the original nor one of ours is refused. Prints one JSON report.
need PROJECT ZONE INSTANCE ORIGINAL_DISK VM_LABEL
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect INSTANCE "$PATTERN_NAME"
expect ORIGINAL_DISK "$PATTERN_NAME"
started=$SECONDS
REPLACED=
ATTACHED=

report() { rollback_report "$1" "$2" "$REPLACED"; }

# marked_replacement: 0 when the original carries the swap's mark (role original-boot), with the
# disk the swap put in (its replaced-by label) in REPLACED.
marked_replacement() {
    local role
    role=$(disk_label "$ORIGINAL_DISK" bootloop-rescue-role) || fail "$VM_LABEL: cannot read the labels of the original boot disk $ORIGINAL_DISK; nothing is done"
    [[ $role == original-boot ]] || return 1
    REPLACED=$(disk_label "$ORIGINAL_DISK" bootloop-rescue-replaced-by) || fail "$VM_LABEL: cannot read the labels of the original boot disk $ORIGINAL_DISK; nothing is done"
    [[ $REPLACED =~ $PATTERN_NAME ]] || REPLACED=
}

# on_original: the instance boots from its original disk already. Reports rolled-back (the
# original carries the swap's mark, so it was swapped and rolled back) or not-swapped, once the
# instance runs: a stopped one is started here (a starting one waited for), as the rollback's own
# start would have.
on_original() {
    local status=not-swapped message started_now=false
    marked_replacement && status=rolled-back
    t=$SECONDS
    case $status_now in
        RUNNING) ;;
        PROVISIONING | STAGING) started_now=true ;;
        STOPPING | TERMINATED)
            [[ $status_now == TERMINATED ]] || wait_status TERMINATED "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE is on its original boot disk $ORIGINAL_DISK but still stopping after $STOP_TIMEOUT_SECONDS s; it was not started"
            log "$VM_LABEL: $INSTANCE is stopped on its original boot disk $ORIGINAL_DISK; starting it"
            gc instances start "$INSTANCE" >/dev/null || fail "$VM_LABEL: $INSTANCE is on its original boot disk $ORIGINAL_DISK but could not be started (the reason is above); it stays stopped"
            started_now=true
            ;;
        *) fail "$VM_LABEL: $INSTANCE is on its original boot disk $ORIGINAL_DISK but ${status_now:-in no known state}; it was not started" ;;
    esac
    if [[ $started_now == true ]]; then
        wait_status RUNNING "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE did not reach RUNNING on its original boot disk $ORIGINAL_DISK (it is ${seen[status]:-unknown})"
        boot_s=$((SECONDS - t))
    fi
    rollback_done "$status" "$started_now" "boots from its original disk $ORIGINAL_DISK"
}

instance_now
if [[ $boot == "$ORIGINAL_DISK" ]]; then
    status_now=$status
    on_original
fi
if [[ $boot != none ]]; then
    role=$(disk_label "$boot" bootloop-rescue-role)
    owner=$(disk_label "$boot" bootloop-rescue-instance)
    if [[ ! $role =~ ^(fixed|restored)$ || $owner != "$INSTANCE" ]]; then
        fail "$VM_LABEL: the boot disk of $INSTANCE is $boot, neither the original $ORIGINAL_DISK nor a disk bootloop-rescue made for this instance; nothing is done"
    fi
    REPLACED=$boot ATTACHED=$boot
else
    # No boot disk: cut short between its detach and its attach; the mark names what was detached.
    marked_replacement || true
fi

t=$SECONDS
if [[ $status != TERMINATED ]]; then
    log "$VM_LABEL: stopping $INSTANCE"
    gc instances stop "$INSTANCE" >/dev/null
    wait_status TERMINATED "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE did not stop within $STOP_TIMEOUT_SECONDS s; nothing was rolled back"
fi
stop_s=$((SECONDS - t))
t=$SECONDS
if [[ -n $ATTACHED ]]; then
    log "$VM_LABEL: detaching $ATTACHED (kept)"
    gc instances detach-disk "$INSTANCE" --disk "$ATTACHED" >/dev/null
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
