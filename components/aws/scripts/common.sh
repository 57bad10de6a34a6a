# AWS helpers, after core's base.sh.

need AWS_REGION
expect AWS_REGION '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$'

# aws_json OP ARGS...: one AWS CLI call in $AWS_REGION through the watcher's gate ("ec2 stop-instances"
# names it for the rate limits), JSON on stdout; throttling and transient errors retried.
aws_json() {
    cloud_call "$1 $2" aws --region "$AWS_REGION" --output json "$@"
}

# For a VM in another account: act as the configured role there (credentials stay in this process;
# the watcher assumes the same role for its own calls).
if [[ -n ${ASSUME_ROLE_ARN:-} ]]; then
    expect ASSUME_ROLE_ARN '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$' 600
fi
WATCH_CLOUD=aws
WATCH_SCOPE=$'\t'"region=$AWS_REGION"${ASSUME_ROLE_ARN:+$'\t'"role=$ASSUME_ROLE_ARN"}
if [[ -n ${ASSUME_ROLE_ARN:-} ]]; then
    credentials=$(aws_json sts assume-role --role-arn "$ASSUME_ROLE_ARN" --role-session-name bootloop-rescue) || fail "cannot assume $ASSUME_ROLE_ARN"
    AWS_ACCESS_KEY_ID=$(jq_node 'o.Credentials.AccessKeyId' <<<"$credentials")
    AWS_SECRET_ACCESS_KEY=$(jq_node 'o.Credentials.SecretAccessKey' <<<"$credentials")
    AWS_SESSION_TOKEN=$(jq_node 'o.Credentials.SessionToken' <<<"$credentials")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
    unset credentials AWS_PROFILE
fi

# instance_now: the instance's state and the volume at ROOT_DEVICE ("none"), freshly observed,
# in $state and $root.
instance_now() {
    observe instance "$INSTANCE_ID" "device=${ROOT_DEVICE:-/dev/sda1}"
    state=${seen[state]}
    root=${seen[root]}
}
# volume_tag VOLUME KEY: the value of one of the volume's tags ("" when it has none). The call's
# answer is read whole before jq_node starts: piped, the two would hold two places at the gate at
# once, and steps that each hold one could wait for each other for ever.
volume_tag() {
    local answer
    answer=$(aws_json ec2 describe-volumes --volume-ids "$1") || return
    KEY=$2 jq_node '((o.Volumes[0].Tags || []).find((t) => t.Key === process.env.KEY) || {}).Value || ""' <<<"$answer"
}

STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-600}
VOLUME_TIMEOUT_SECONDS=${VOLUME_TIMEOUT_SECONDS:-600}

# wait_instance STATE TIMEOUT: 0 once the instance is in STATE; 1 when it still was not at TIMEOUT.
wait_instance() { wait_for instance "$INSTANCE_ID" "$1" "$2" "device=${ROOT_DEVICE:-/dev/sda1}"; }
# wait_volume VOLUME STATE: waits for the volume's state, or fails the step.
wait_volume() {
    wait_for volume "$1" "$2" "$VOLUME_TIMEOUT_SECONDS" || fail "$VM_LABEL: volume $1 did not become $2 within $VOLUME_TIMEOUT_SECONDS s (it is ${seen[state]})"
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

# healthy_within SECONDS: 0 once both status checks pass and, if the console output is available,
# it shows $BOOT_MARKER (the watcher reads the console only once the checks pass); $marker says
# what the console showed (found, missing, unavailable).
marker=unavailable
healthy_within() {
    [[ $BOOT_MARKER != *[$'\t\n']* ]] || fail "BOOT_MARKER has an unexpected value; refusing to run"
    local ok=0
    wait_for status "$INSTANCE_ID" healthy "$1" "marker=$BOOT_MARKER" || ok=1
    marker=${seen[marker]:-unchecked}
    return $ok
}
