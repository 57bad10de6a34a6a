# Restore points: lists the managed snapshots of the subscription (Azure Backup's instant-restore
# snapshots included), or the one snapshot RESTORE_FROM names, as JSON: [{id, createdAt, state,
# source}] (source: the disk it was taken from). Read-only; the lookup of strategy restore runs the
# listing once per subscription, and chooses each VM's among the snapshots of its original OS disk.
need SUBSCRIPTION_ID
expect SUBSCRIPTION_ID "$PATTERN_GUID"
watch_subscription "$SUBSCRIPTION_ID"
pick='((list) => list.map((s) => ({ id: s.id, createdAt: s.timeCreated, state: s.provisioningState === "Succeeded" ? "ready" : s.provisioningState, source: (s.creationData || {}).sourceResourceId || "" })))'
if [[ -n ${RESTORE_FROM:-} ]]; then
    expect RESTORE_FROM '^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9_.()-]{1,90}/providers/Microsoft\.Compute/snapshots/[A-Za-z0-9_.-]{1,80}$'
    found=$(az_json snapshot show --ids "$RESTORE_FROM") || fail "restoreFrom $RESTORE_FROM was not found"
    jq_node "$pick([o])" <<<"$found"
else
    # Read whole first, never piped into the helper (base.sh local_slot, jq_node).
    found=$(az_json snapshot list --subscription "$SUBSCRIPTION_ID")
    jq_node "$pick(o)" <<<"$found"
fi
