# Swap + start + verify: stops the instance, detaches its boot disk (kept, labelled as the
# original), attaches the fixed disk as boot disk, starts it and waits for a real boot signal:
# RUNNING, and the Windows boot marker on serial port 1 in output written after this step stopped it.
# Idempotent: an instance already running on the fixed disk that shows the marker is left alone.
need PROJECT ZONE INSTANCE ORIGINAL_DISK FIXED_DISK VM_LABEL BOOT_TIMEOUT_SECONDS BOOT_MARKER
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect INSTANCE "$PATTERN_NAME"
expect ORIGINAL_DISK "$PATTERN_NAME"
expect FIXED_DISK "$PATTERN_NAME"
expect BOOT_TIMEOUT_SECONDS '^[0-9]{1,6}(\.[0-9]+)?$'
started=$SECONDS

report() { swap_report "$1" "$2"; }

swap_preamble

rollback_hint="the original boot disk $ORIGINAL_DISK is untouched and kept for rollback"
instance_now

# Serial port 1 keeps earlier boots' output: a boot marker counts only after the offset this step
# noted when it stopped the instance (kept as a label of the original disk, for a re-run).
boot_from() {
    local noted
    noted=$(disk_label "$ORIGINAL_DISK" bootloop-rescue-serial-from)
    if [[ $noted =~ ^[0-9]{1,15}$ ]]; then
        printf '%s' "$noted"
    else
        log "$VM_LABEL: no record of where this boot's serial output begins; only output from now on counts"
        serial_next
    fi
}

if [[ $boot == "$FIXED_DISK" && $status == RUNNING ]] && booted_within 0 "$(boot_from)"; then
    log "$VM_LABEL: already running on the fixed disk; nothing to do"
    report recovered true
    exit 0
fi

if [[ $boot == "$ORIGINAL_DISK" ]]; then
    t=$SECONDS
    if [[ $status != TERMINATED ]]; then
        log "$VM_LABEL: stopping $INSTANCE"
        gc instances stop "$INSTANCE" --async >/dev/null
        wait_status TERMINATED "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE did not stop within $STOP_TIMEOUT_SECONDS s; nothing was swapped; $rollback_hint"
    fi
    status=TERMINATED
    stop_s=$((SECONDS - t))
    t=$SECONDS
    # Stopped, the instance writes nothing: output after this offset is the fixed disk's boot.
    from=$(serial_next)
    gc disks add-labels "$ORIGINAL_DISK" --labels "bootloop-rescue-role=original-boot,bootloop-rescue-instance=$INSTANCE,bootloop-rescue-replaced-by=$FIXED_DISK,bootloop-rescue-serial-from=$from" >/dev/null
    log "$VM_LABEL: detaching the original boot disk $ORIGINAL_DISK (kept)"
    gc instances detach-disk "$INSTANCE" --disk "$ORIGINAL_DISK" >/dev/null
    boot=none
    swap_s=$((SECONDS - t))
elif [[ $boot != none && $boot != "$FIXED_DISK" ]]; then
    fail "$VM_LABEL: the boot disk of $INSTANCE is $boot, neither the original $ORIGINAL_DISK nor the fixed $FIXED_DISK; someone changed it, so nothing is done"
fi

# What the instance is doing is known from here on (observed above, or stopped by this step):
# no need to look again, except to let a stop in progress finish.
if [[ $status == STOPPING ]]; then
    wait_status TERMINATED "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE did not finish stopping; $rollback_hint"
    status=TERMINATED
fi

if [[ $boot == none ]]; then
    t=$SECONDS
    [[ $status == TERMINATED ]] || fail "$VM_LABEL: $INSTANCE has no boot disk but is $status, not stopped; nothing is done; $rollback_hint"
    log "$VM_LABEL: attaching the fixed disk $FIXED_DISK as boot disk"
    gc instances attach-disk "$INSTANCE" --disk "$FIXED_DISK" --boot >/dev/null
    swap_s=$((${swap_s:-0} + SECONDS - t))
fi

t=$SECONDS
[[ -n ${from:-} ]] || from=$(boot_from)
if [[ $status != RUNNING && $status != STAGING && $status != PROVISIONING ]]; then
    log "$VM_LABEL: starting $INSTANCE on the fixed disk"
    gc instances start "$INSTANCE" --async >/dev/null
fi
# A fixed disk that does not boot is the VM's own outcome (vm_failed): the fleet goes on.
booted_within "$BOOT_TIMEOUT_SECONDS" "$from" ||
    vm_failed "$INSTANCE did not show the boot marker on serial port 1 within $BOOT_TIMEOUT_SECONDS s on the fixed disk $FIXED_DISK (status ${seen[status]:-unknown})" \
        "read its serial port 1 and the evidence; roll it back (setting rollback) or repair it by hand; $rollback_hint (detached, labelled bootloop-rescue-role=original-boot)"
boot_s=$((SECONDS - t))
log "$VM_LABEL: booted on the fixed disk"
report recovered false
