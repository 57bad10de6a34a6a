# Restore points: lists the account's completed EBS snapshots in the region (AWS Backup's
# included: they are the account's own), or the one snapshot RESTORE_FROM names, as JSON:
# [{id, createdAt, state, source}] (source: the volume it was taken from). Read-only; the lookup
# of strategy restore runs the listing once per account and region, and chooses each VM's among
# the snapshots of its volume. ACCOUNT_ID names the account for the offline plan only: `--owner-ids
# self` lists the account the credentials act in (the role's, with ASSUME_ROLE_ARN).
if [[ -n ${RESTORE_FROM:-} ]]; then
    expect RESTORE_FROM '^snap-([0-9a-f]{8}|[0-9a-f]{17})$'
    found=$(aws_json ec2 describe-snapshots --snapshot-ids "$RESTORE_FROM")
else
    # Paged (MaxResults): an account with many snapshots is listed a page at a time, as EC2 asks.
    found=$(aws_json ec2 describe-snapshots --owner-ids self --page-size 1000)
fi
jq_node '(o.Snapshots || []).map((s) => ({ id: s.SnapshotId, createdAt: s.StartTime, state: s.State === "completed" ? "ready" : s.State, source: s.VolumeId }))' <<<"$found"
