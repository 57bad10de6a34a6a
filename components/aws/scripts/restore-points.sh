# Restore points: lists the completed EBS snapshots (AWS Backup's included) of the original root
# volume, or the one snapshot RESTORE_FROM names, as JSON: [{id, createdAt, state, source}].
# Read-only; the lookup of strategy restore runs it and chooses among them.
need AWS_REGION VOLUME_ID
expect VOLUME_ID '^vol-([0-9a-f]{8}|[0-9a-f]{17})$'
if [[ -n ${RESTORE_FROM:-} ]]; then
    expect RESTORE_FROM '^snap-([0-9a-f]{8}|[0-9a-f]{17})$'
    found=$(aws_json ec2 describe-snapshots --snapshot-ids "$RESTORE_FROM")
else
    found=$(aws_json ec2 describe-snapshots --owner-ids self --filters "Name=volume-id,Values=$VOLUME_ID")
fi
jq_node '(o.Snapshots || []).map((s) => ({ id: s.SnapshotId, createdAt: s.StartTime, state: s.State === "completed" ? "ready" : s.State, source: s.VolumeId }))' <<<"$found"
