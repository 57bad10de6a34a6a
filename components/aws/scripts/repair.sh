# Repair: runs the repair engine on the rescue instance through Systems Manager (no SSH, no
# inbound rule), waits for it through the watcher (one listing per rescue instance answers every
# disk on it), and prints its evidence JSON on stdout (Pulumi keeps it in state). A failed repair
# fails this step with the engine's reason.
need AWS_REGION RESCUE_INSTANCE_ID VOLUME_ID DOCUMENT_NAME VM_LABEL REPAIR_TIMEOUT_SECONDS
expect RESCUE_INSTANCE_ID '^i-([0-9a-f]{8}|[0-9a-f]{17})$'
expect VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
expect DOCUMENT_NAME '^[A-Za-z0-9_.-]{3,128}$'
expect REPAIR_TIMEOUT_SECONDS '^[0-9]{1,6}$'
# KEY_SECRET: empty, or the ARN of the secret that holds the disk's BitLocker keys (never a key).
# REPAIR_ATTEMPT: which attempt of this VM's repair this is (the inventory's retry: + 1; 1 when
# absent): part of the command's comment, so a retry is sent anew rather than taking over the
# first attempt's finished command, and a re-run of the retry takes over the retry's own.
REPAIR_ATTEMPT=${REPAIR_ATTEMPT:-1}
expect REPAIR_ATTEMPT '^[1-9][0-9]{0,2}$'
comment="bootloop-rescue repair of $VOLUME_ID"
((REPAIR_ATTEMPT == 1)) || comment+=", attempt $REPAIR_ATTEMPT"
KEY_SECRET=${KEY_SECRET:-}
expect KEY_SECRET '^(arn:aws(-cn|-us-gov)?:secretsmanager:[a-z]{2}(-gov)?-[a-z]+-[0-9]{1,2}:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})?$' 600
repair_preamble

log "$VM_LABEL: waiting for the Systems Manager agent of rescue instance $RESCUE_INSTANCE_ID"
wait_for ssm-online "$RESCUE_INSTANCE_ID" Online "$REPAIR_TIMEOUT_SECONDS" ||
    fail "$VM_LABEL: rescue instance $RESCUE_INSTANCE_ID did not come online in Systems Manager within $REPAIR_TIMEOUT_SECONDS s (it needs a route to the SSM endpoints: a NAT or VPC endpoints for ssm, ssmmessages, ec2messages)"

# A repair of this volume sent by an earlier run (interrupted after sending it) is waited for, or
# its result taken, rather than sent again: a second repair would wait for the first on the
# rescue instance and then report only that nothing was left to do. One that failed is sent anew.
observe ssm-sent "$VOLUME_ID" "instance=$RESCUE_INSTANCE_ID" "document=$DOCUMENT_NAME" "attempt=$REPAIR_ATTEMPT"
command_id=
case ${seen[status]:-none} in
    Pending | InProgress | Delayed | Success)
        [[ ${seen[command]} =~ ^[0-9a-f-]{36}$ ]] || fail "$VM_LABEL: Systems Manager listed an earlier repair without a command id"
        command_id=${seen[command]}
        log "$VM_LABEL: the repair of $VOLUME_ID sent earlier (Systems Manager command $command_id, ${seen[status]}) is taken over; nothing is sent again"
        ;;
esac

# send_document PARAMETERS TIMEOUT COMMENT: sends the repair document to the rescue instance and
# prints the command id.
send_document() {
    local sent
    sent=$(aws_json ssm send-command --instance-ids "$RESCUE_INSTANCE_ID" --document-name "$DOCUMENT_NAME" \
        --parameters "$1" --timeout-seconds "$2" --comment "$3") || fail "$VM_LABEL: Systems Manager refused the command"
    [[ $sent =~ \"CommandId\":\ *\"([0-9a-f-]{36})\" ]] || fail "$VM_LABEL: Systems Manager returned no command id"
    printf '%s' "${BASH_REMATCH[1]}"
}

# The rescue instance runs one repair per seat at once (its agent is configured so), so a command
# is delivered within the repair time even behind the others: its delivery timeout is that time.
# The comment is how a re-run finds it (watch.ts, ssm-sent).
if [[ -z $command_id ]]; then
    log "$VM_LABEL: running the repair engine on $RESCUE_INSTANCE_ID for $VOLUME_ID"
    # JSON form: an ARN may hold '=' and ',', which the shorthand form would split on.
    command_id=$(send_document "{\"volumeId\":[\"$VOLUME_ID\"],\"keySecret\":[\"$KEY_SECRET\"]}" "$((REPAIR_TIMEOUT_SECONDS < 30 ? 30 : REPAIR_TIMEOUT_SECONDS))" "$comment") || exit 1
fi

# The repair document first waits (up to TOOLS_WAIT_SECONDS, tools.ts) for the rescue tools of its
# version on the instance, which its tools associations deliver: that wait is the repair's too.
TOOLS_WAIT_SECONDS=${TOOLS_WAIT_SECONDS:-300}
if ! wait_for ssm-command "$command_id" done "$REPAIR_TIMEOUT_SECONDS" "instance=$RESCUE_INSTANCE_ID"; then
    wait_for ssm-command "$command_id" done "$TOOLS_WAIT_SECONDS" "instance=$RESCUE_INSTANCE_ID" ||
        fail "$VM_LABEL: the repair on $RESCUE_INSTANCE_ID did not finish within $((REPAIR_TIMEOUT_SECONDS + TOOLS_WAIT_SECONDS)) s (Systems Manager command $command_id, status ${seen[status]:-unknown})"
fi
status=${seen[status]}

# The engine's evidence is the last line of the command's standard output (gzip-base64). Systems
# Manager keeps the first 24,000 characters: a longer line announces itself as
# "parts:<count>:<sha256>:<part 0>", and the other parts are asked for, one command each.
# output_line COMMAND-ID: the last line a command printed (the CLI prints the output as is).
output_line() {
    local out
    out=$(cloud_call "ssm get-command-invocation" aws --region "$AWS_REGION" --output text ssm get-command-invocation \
        --command-id "$1" --instance-id "$RESCUE_INSTANCE_ID" --query StandardOutputContent) || return 1
    while [[ $out == *$'\n' ]]; do out=${out%$'\n'}; done
    printf '%s' "${out##*$'\n'}"
}
line=$(output_line "$command_id") || fail "$VM_LABEL: the output of Systems Manager command $command_id could not be read"
sha=
if [[ $line =~ ^parts:([0-9]{1,4}):([0-9a-f]{64}):(.*)$ ]]; then
    count=${BASH_REMATCH[1]}
    sha=${BASH_REMATCH[2]}
    line=${BASH_REMATCH[3]}
    log "$VM_LABEL: the evidence is longer than one command's output; reading it in $count parts"
    for ((part = 1; part < count; part++)); do
        part_id=$(send_document "volumeId=$VOLUME_ID,evidencePart=$part" 600 "bootloop-rescue evidence part $part of $VOLUME_ID") || exit 1
        wait_for ssm-command "$part_id" done 600 "instance=$RESCUE_INSTANCE_ID" || fail "$VM_LABEL: part $part of the evidence did not come back within 600 s"
        [[ ${seen[status]} == Success ]] || fail "$VM_LABEL: reading part $part of the evidence failed (Systems Manager status ${seen[status]})"
        line+=$(output_line "$part_id") || fail "$VM_LABEL: part $part of the evidence could not be read"
    done
fi
# Settled (checked, a failed repair fails the step) and packed as the state keeps it.
EVIDENCE_SHA256=$sha EVIDENCE_UNREADABLE="the repair printed no evidence (Systems Manager status $status)" VM_LABEL=$VM_LABEL \
    local_slot node "$BOOTLOOP_HOME/components/core/scripts/evidence.js" settle <<<"$line"
