# Swap + start + verify: stops the instance, detaches the original root volume (kept, tagged),
# attaches the fixed volume at the root device, starts the instance and waits for a real boot
# signal: both status checks passing, and the Windows boot marker in the console output where
# the console output is available. Idempotent: an instance already running healthy on the fixed
# volume is left alone (no call that changes anything). Prints one JSON report on stdout.
need AWS_REGION INSTANCE_ID ORIGINAL_VOLUME_ID FIXED_VOLUME_ID ROOT_DEVICE VM_LABEL BOOT_TIMEOUT_SECONDS BOOT_MARKER
expect INSTANCE_ID '^i-([0-9a-f]{8}|[0-9a-f]{17})$'
expect ORIGINAL_VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
expect FIXED_VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
expect ROOT_DEVICE '^/dev/(sd[a-z]|xvd[a-z]|nvme[0-9]n1)[0-9]?$'
expect BOOT_TIMEOUT_SECONDS '^[0-9]{1,6}(\.[0-9]+)?$'
started=$SECONDS


report() { MARKER=$marker swap_report "$1" "$2" bootMarker=MARKER; }

swap_preamble

rollback_hint="the original root volume $ORIGINAL_VOLUME_ID is untouched and kept for rollback"
instance_now

if [[ $root == "$FIXED_VOLUME_ID" && $state == running ]] && healthy_within 0; then
    log "$VM_LABEL: already running healthy on the fixed volume $FIXED_VOLUME_ID; nothing to do"
    report recovered true
    exit 0
fi

if [[ $root == "$ORIGINAL_VOLUME_ID" ]]; then
    t=$SECONDS
    [[ $state == stopped ]] || stop_instance "nothing was swapped; $rollback_hint"
    state=stopped
    stop_s=$((SECONDS - t))
    t=$SECONDS
    aws_json ec2 create-tags --resources "$ORIGINAL_VOLUME_ID" --tags "Key=bootloop-rescue:role,Value=original-root" "Key=bootloop-rescue:instance,Value=$INSTANCE_ID" "Key=bootloop-rescue:replaced-by,Value=$FIXED_VOLUME_ID" "Key=bootloop-rescue:device,Value=$ROOT_DEVICE" >/dev/null
    log "$VM_LABEL: detaching the original root volume $ORIGINAL_VOLUME_ID (kept)"
    aws_json ec2 detach-volume --volume-id "$ORIGINAL_VOLUME_ID" --instance-id "$INSTANCE_ID" >/dev/null
    wait_volume "$ORIGINAL_VOLUME_ID" available
    root=none
    swap_s=$((SECONDS - t))
elif [[ $root != none && $root != "$FIXED_VOLUME_ID" ]]; then
    fail "$VM_LABEL: the root device $ROOT_DEVICE holds $root, neither the original $ORIGINAL_VOLUME_ID nor the fixed $FIXED_VOLUME_ID; someone changed it, so nothing is done"
fi

# What the instance is doing is known from here on (observed above, or stopped by this step):
# no need to look again, except to let a stop in progress finish.
if [[ $state == stopping ]]; then
    wait_instance stopped "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE_ID did not finish stopping; $rollback_hint"
    state=stopped
fi

if [[ $root == none ]]; then
    t=$SECONDS
    [[ $state == stopped ]] || fail "$VM_LABEL: $INSTANCE_ID has no root volume but is $state, not stopped; nothing is done; $rollback_hint"
    log "$VM_LABEL: attaching the fixed volume $FIXED_VOLUME_ID at $ROOT_DEVICE"
    aws_json ec2 attach-volume --volume-id "$FIXED_VOLUME_ID" --instance-id "$INSTANCE_ID" --device "$ROOT_DEVICE" >/dev/null
    wait_volume "$FIXED_VOLUME_ID" in-use
    swap_s=$((${swap_s:-0} + SECONDS - t))
fi

t=$SECONDS
if [[ $state == stopped ]]; then
    log "$VM_LABEL: starting $INSTANCE_ID on the fixed volume"
    aws_json ec2 start-instances --instance-ids "$INSTANCE_ID" >/dev/null
elif [[ $state != running && $state != pending ]]; then
    fail "$VM_LABEL: $INSTANCE_ID is $state; nothing more is done; $rollback_hint"
fi
# A fixed volume that does not boot is the VM's own outcome (vm_failed): the fleet goes on.
healthy_within "$BOOT_TIMEOUT_SECONDS" ||
    vm_failed "$INSTANCE_ID did not boot healthy within $BOOT_TIMEOUT_SECONDS s on the fixed volume $FIXED_VOLUME_ID (status checks ${seen[checks]:-unknown}, boot marker: $marker)" \
        "read its console output and the evidence; roll it back (setting rollback) or repair it by hand; $rollback_hint (detached, tagged bootloop-rescue:role=original-root)"
boot_s=$((SECONDS - t))
log "$VM_LABEL: booted healthy on the fixed volume (boot marker: $marker)"
report recovered false
