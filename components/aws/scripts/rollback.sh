# Rollback: puts the original root volume back. Stops the instance, detaches the volume of ours
# it runs on (fixed or restored: kept, tagged), attaches the original at the root device and
# starts the instance; it waits for running, not for a healthy boot (the original holds what made
# it fail). An instance already on its original volume and running is left alone, with a message;
# one on its original volume but not running (a rollback cut short between its attach and its
# start, or whose start was refused) is started and must reach running, or the step fails with the
# reason. Either way the report names the volume the swap put in (the original's replaced-by mark).
# A root volume that is neither the original nor one of ours is refused. Prints one JSON report.
need AWS_REGION INSTANCE_ID ORIGINAL_VOLUME_ID ROOT_DEVICE VM_LABEL
expect INSTANCE_ID '^i-([0-9a-f]{8}|[0-9a-f]{17})$'
expect ORIGINAL_VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
expect ROOT_DEVICE '^/dev/(sd[a-z]|xvd[a-z]|nvme[0-9]n1)[0-9]?$'
started=$SECONDS
REPLACED=
ATTACHED=

report() { rollback_report "$1" "$2" "$REPLACED"; }

# marked_replacement: 0 when the original carries the swap's mark (role original-root), with the
# volume the swap put in (its replaced-by mark) in REPLACED.
marked_replacement() {
    local role
    role=$(volume_tag "$ORIGINAL_VOLUME_ID" bootloop-rescue:role) || fail "$VM_LABEL: cannot read the tags of the original root volume $ORIGINAL_VOLUME_ID; nothing is done"
    [[ $role == original-root ]] || return 1
    REPLACED=$(volume_tag "$ORIGINAL_VOLUME_ID" bootloop-rescue:replaced-by) || fail "$VM_LABEL: cannot read the tags of the original root volume $ORIGINAL_VOLUME_ID; nothing is done"
    [[ $REPLACED =~ ^vol-([0-9a-f]{8}|[0-9a-f]{17})$ ]] || REPLACED=
}

# on_original: the instance's root is its original volume already. Reports rolled-back (the
# original carries the swap's mark, so it was swapped and rolled back) or not-swapped, once the
# instance runs: a stopped one is started here (a pending one waited for), as the rollback's own
# start would have.
on_original() {
    local status=not-swapped message started_now=false
    marked_replacement && status=rolled-back
    t=$SECONDS
    case $state in
        running) ;;
        pending) started_now=true ;;
        stopping | stopped)
            [[ $state == stopped ]] || wait_instance stopped "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE_ID is on its original root volume $ORIGINAL_VOLUME_ID but still stopping after $STOP_TIMEOUT_SECONDS s; it was not started"
            log "$VM_LABEL: $INSTANCE_ID is stopped on its original root volume $ORIGINAL_VOLUME_ID; starting it"
            aws_json ec2 start-instances --instance-ids "$INSTANCE_ID" >/dev/null || fail "$VM_LABEL: $INSTANCE_ID is on its original root volume $ORIGINAL_VOLUME_ID but could not be started (the reason is above); it stays stopped"
            started_now=true
            ;;
        *) fail "$VM_LABEL: $INSTANCE_ID is on its original root volume $ORIGINAL_VOLUME_ID but $state; it cannot be started" ;;
    esac
    if [[ $started_now == true ]]; then
        wait_instance running "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE_ID did not reach running on its original root volume $ORIGINAL_VOLUME_ID (it is ${seen[state]:-unknown})"
        boot_s=$((SECONDS - t))
    fi
    rollback_done "$status" "$started_now" "runs on its original root volume $ORIGINAL_VOLUME_ID"
}

instance_now
if [[ $root == "$ORIGINAL_VOLUME_ID" ]]; then
    on_original
fi
if [[ $root != none ]]; then
    role=$(volume_tag "$root" bootloop-rescue:role)
    owner=$(volume_tag "$root" bootloop-rescue:instance)
    if [[ ! $role =~ ^(fixed|restored)$ || $owner != "$INSTANCE_ID" ]]; then
        fail "$VM_LABEL: the root device $ROOT_DEVICE holds $root, which is neither the original $ORIGINAL_VOLUME_ID nor a volume bootloop-rescue made for this instance; nothing is done"
    fi
    REPLACED=$root ATTACHED=$root
else
    # No root volume: cut short between its detach and its attach; the mark names what was detached.
    marked_replacement || true
fi

t=$SECONDS
instance_now
[[ $state == stopped ]] || stop_instance "nothing was rolled back"
stop_s=$((SECONDS - t))
t=$SECONDS
if [[ -n $ATTACHED ]]; then
    log "$VM_LABEL: detaching $ATTACHED (kept)"
    aws_json ec2 detach-volume --volume-id "$ATTACHED" --instance-id "$INSTANCE_ID" >/dev/null
    wait_volume "$ATTACHED" available
fi
log "$VM_LABEL: attaching the original root volume $ORIGINAL_VOLUME_ID at $ROOT_DEVICE"
aws_json ec2 attach-volume --volume-id "$ORIGINAL_VOLUME_ID" --instance-id "$INSTANCE_ID" --device "$ROOT_DEVICE" >/dev/null
wait_volume "$ORIGINAL_VOLUME_ID" in-use
swap_s=$((SECONDS - t))
t=$SECONDS
log "$VM_LABEL: starting $INSTANCE_ID on its original root volume"
aws_json ec2 start-instances --instance-ids "$INSTANCE_ID" >/dev/null
wait_instance running "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE_ID did not reach running on its original root volume"
boot_s=$((SECONDS - t))
message="runs on its original root volume $ORIGINAL_VOLUME_ID again${REPLACED:+; $REPLACED is kept, detached}"
log "$VM_LABEL: $message"
report rolled-back "$message"
