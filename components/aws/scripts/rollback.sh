# Rollback: puts the original root volume back. Stops the instance, detaches the volume of ours
# it runs on (fixed or restored: kept, tagged), attaches the original at the root device and
# starts the instance; it does not wait for a healthy boot (the original holds what made it
# fail). An instance already on its original volume is left alone, with a message. A root volume
# that is neither the original nor one of ours is refused. Prints one JSON report.
need AWS_REGION INSTANCE_ID ORIGINAL_VOLUME_ID ROOT_DEVICE VM_LABEL
expect INSTANCE_ID '^i-([0-9a-f]{8}|[0-9a-f]{17})$'
expect ORIGINAL_VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
expect ROOT_DEVICE '^/dev/(sd[a-z]|xvd[a-z]|nvme[0-9]n1)[0-9]?$'
started=$SECONDS
REPLACED=

report() { rollback_report "$1" "$2" "$REPLACED"; }

instance_now
if [[ $root == "$ORIGINAL_VOLUME_ID" ]]; then
    before=false
    [[ $(volume_tag "$ORIGINAL_VOLUME_ID" bootloop-rescue:role) == original-root ]] && before=true
    rollback_noop "root volume" "$ORIGINAL_VOLUME_ID" "$before"
fi
if [[ $root != none ]]; then
    role=$(volume_tag "$root" bootloop-rescue:role)
    owner=$(volume_tag "$root" bootloop-rescue:instance)
    if [[ ! $role =~ ^(fixed|restored)$ || $owner != "$INSTANCE_ID" ]]; then
        fail "$VM_LABEL: the root device $ROOT_DEVICE holds $root, which is neither the original $ORIGINAL_VOLUME_ID nor a volume bootloop-rescue made for this instance; nothing is done"
    fi
    REPLACED=$root
fi

t=$SECONDS
instance_now
[[ $state == stopped ]] || stop_instance "nothing was rolled back"
stop_s=$((SECONDS - t))
t=$SECONDS
if [[ -n $REPLACED ]]; then
    log "$VM_LABEL: detaching $REPLACED (kept)"
    aws_json ec2 detach-volume --volume-id "$REPLACED" --instance-id "$INSTANCE_ID" >/dev/null
    wait_volume "$REPLACED" available
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
