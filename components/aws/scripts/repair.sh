# Repair: runs the repair engine on the rescue instance through Systems Manager (no SSH, no
# inbound rule), waits for it, and prints its evidence JSON on stdout (Pulumi keeps it in state).
# A failed repair fails this step with the engine's reason.
need AWS_REGION RESCUE_INSTANCE_ID VOLUME_ID DOCUMENT_NAME VM_LABEL REPAIR_TIMEOUT_SECONDS
expect RESCUE_INSTANCE_ID '^i-([0-9a-f]{8}|[0-9a-f]{17})$'
expect VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
expect DOCUMENT_NAME '^[A-Za-z0-9_.-]{3,128}$'
expect REPAIR_TIMEOUT_SECONDS '^[0-9]{1,6}$'
repair_preamble

until_deadline "$REPAIR_TIMEOUT_SECONDS"
log "$VM_LABEL: waiting for the Systems Manager agent of rescue instance $RESCUE_INSTANCE_ID"
while :; do
    ping=$(aws_json ssm describe-instance-information --filters "Key=InstanceIds,Values=$RESCUE_INSTANCE_ID" | jq_node 'o.InstanceInformationList.length ? o.InstanceInformationList[0].PingStatus : ""')
    [[ $ping == Online ]] && break
    expired && fail "$VM_LABEL: rescue instance $RESCUE_INSTANCE_ID did not come online in Systems Manager within $REPAIR_TIMEOUT_SECONDS s (it needs a route to the SSM endpoints: a NAT or VPC endpoints for ssm, ssmmessages, ec2messages)"
    pause
done

log "$VM_LABEL: running the repair engine on $RESCUE_INSTANCE_ID for $VOLUME_ID"
command_id=$(aws_json ssm send-command --instance-ids "$RESCUE_INSTANCE_ID" --document-name "$DOCUMENT_NAME" \
    --parameters "volumeId=$VOLUME_ID" --timeout-seconds 600 --comment "bootloop-rescue repair of $VOLUME_ID" | jq_node 'o.Command.CommandId')
[[ $command_id =~ ^[0-9a-f-]{36}$ ]] || fail "$VM_LABEL: Systems Manager returned no command id"

while :; do
    invocation=$(aws_json ssm get-command-invocation --command-id "$command_id" --instance-id "$RESCUE_INSTANCE_ID" || true)
    status=$(jq_node 'o ? o.Status : ""' <<<"${invocation:-null}")
    case "$status" in
        Success | Failed | Cancelled | TimedOut | Undeliverable | Terminated | DeliveryTimedOut | ExecutionTimedOut) break ;;
    esac
    expired && fail "$VM_LABEL: the repair on $RESCUE_INSTANCE_ID did not finish within $REPAIR_TIMEOUT_SECONDS s (Systems Manager command $command_id, status ${status:-unknown})"
    pause
done

# The engine's evidence is the command's standard output (one compact JSON line).
EVIDENCE_STATUS=$status VM_LABEL=$VM_LABEL jq_node 'o.StandardOutputContent' <<<"$invocation" | node -e '
    const text = require("fs").readFileSync(0, "utf8").trim();
    const label = process.env.VM_LABEL;
    let evidence;
    try { evidence = JSON.parse(text.split("\n").pop()); } catch {
        process.stderr.write(`bootloop-rescue: ${label}: the repair printed no evidence (Systems Manager status ${process.env.EVIDENCE_STATUS})\n`);
        process.exit(1);
    }
    if (evidence.exitCode !== 0) {
        process.stderr.write(`bootloop-rescue: ${label}: repair failed: ${evidence.outcome}: ${evidence.message}\n`);
        process.stderr.write(JSON.stringify(evidence) + "\n");
        process.exit(1);
    }
    process.stdout.write(JSON.stringify(evidence));
'
