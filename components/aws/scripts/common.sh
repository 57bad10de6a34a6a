# AWS helpers, after core's base.sh.

# aws_json ARGS...: one AWS CLI call in $AWS_REGION, JSON on stdout, throttling retried.
aws_json() {
    with_retries 'Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown|ServiceUnavailable|InternalError|RequestTimeout' "aws $1 $2" \
        aws --region "$AWS_REGION" --output json "$@"
}

# For a VM in another account: act as the configured role there (credentials stay in this process).
if [[ -n ${ASSUME_ROLE_ARN:-} ]]; then
    expect ASSUME_ROLE_ARN '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]{1,512}$'
    credentials=$(aws_json sts assume-role --role-arn "$ASSUME_ROLE_ARN" --role-session-name bootloop-rescue) || fail "cannot assume $ASSUME_ROLE_ARN"
    AWS_ACCESS_KEY_ID=$(jq_node 'o.Credentials.AccessKeyId' <<<"$credentials")
    AWS_SECRET_ACCESS_KEY=$(jq_node 'o.Credentials.SecretAccessKey' <<<"$credentials")
    AWS_SESSION_TOKEN=$(jq_node 'o.Credentials.SessionToken' <<<"$credentials")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
    unset credentials AWS_PROFILE
fi

instance() { aws_json ec2 describe-instances --instance-ids "$INSTANCE_ID"; }
state_of() { jq_node 'o.Reservations[0].Instances[0].State.Name'; }
root_of() { jq_node '(o.Reservations[0].Instances[0].BlockDeviceMappings || []).filter((m) => m.DeviceName === process.env.ROOT_DEVICE).map((m) => m.Ebs.VolumeId)[0] || "none"'; }
volume_state() { aws_json ec2 describe-volumes --volume-ids "$1" | jq_node 'o.Volumes[0].State'; }
# volume_tag VOLUME KEY: the value of one of the volume's tags ("" when it has none).
volume_tag() { aws_json ec2 describe-volumes --volume-ids "$1" | KEY=$2 jq_node '((o.Volumes[0].Tags || []).find((t) => t.Key === process.env.KEY) || {}).Value || ""'; }

STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-600}
VOLUME_TIMEOUT_SECONDS=${VOLUME_TIMEOUT_SECONDS:-600}

wait_instance() {  # STATE TIMEOUT
    until_deadline "$2"
    while [[ $(instance | state_of) != "$1" ]]; do
        expired && return 1
        pause
    done
}
wait_volume() {  # VOLUME STATE
    until_deadline "$VOLUME_TIMEOUT_SECONDS"
    while [[ $(volume_state "$1") != "$2" ]]; do
        expired && fail "$VM_LABEL: volume $1 did not become $2 within $VOLUME_TIMEOUT_SECONDS s"
        pause
    done
}

# stop_instance HINT: stops $INSTANCE_ID, forcing the stop when it hangs; fails with HINT.
stop_instance() {
    log "$VM_LABEL: stopping $INSTANCE_ID"
    aws_json ec2 stop-instances --instance-ids "$INSTANCE_ID" >/dev/null
    if ! wait_instance stopped "$STOP_TIMEOUT_SECONDS"; then
        log "$VM_LABEL: $INSTANCE_ID did not stop within $STOP_TIMEOUT_SECONDS s; forcing the stop"
        aws_json ec2 stop-instances --instance-ids "$INSTANCE_ID" --force >/dev/null
        wait_instance stopped "$STOP_TIMEOUT_SECONDS" || fail "$VM_LABEL: $INSTANCE_ID did not stop even when forced; $1"
    fi
}

# healthy: both status checks pass and, if the console output is available, it shows $BOOT_MARKER.
marker=unavailable
healthy() {
    local checks output
    checks=$(aws_json ec2 describe-instance-status --instance-ids "$INSTANCE_ID" --include-all-instances |
        jq_node 'o.InstanceStatuses.length ? o.InstanceStatuses[0].InstanceStatus.Status + " " + o.InstanceStatuses[0].SystemStatus.Status : "none none"')
    [[ $checks == "ok ok" ]] || return 1
    output=$(aws_json ec2 get-console-output --instance-id "$INSTANCE_ID" --latest | jq_node 'o.Output || ""')
    if [[ -z $output ]]; then marker=unavailable; return 0; fi
    if grep -qE -- "$BOOT_MARKER" <<<"$output"; then marker=found; return 0; fi
    marker=missing
    return 1
}
