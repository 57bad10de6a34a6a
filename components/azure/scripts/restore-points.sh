# Restore points: lists the managed snapshots (Azure Backup's instant-restore snapshots included)
# of the original OS disk in its subscription, or the one snapshot RESTORE_FROM names, as JSON:
# [{id, createdAt, state}]. Read-only; the lookup of strategy restore runs it and chooses.
need SUBSCRIPTION_ID DISK_ID
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect DISK_ID "$PATTERN_DISK_ID"
watch_subscription "$SUBSCRIPTION_ID"
pick='((list) => list.map((s) => ({ id: s.id, createdAt: s.timeCreated, state: s.provisioningState === "Succeeded" ? "ready" : s.provisioningState, source: (s.creationData || {}).sourceResourceId || "" })))'
if [[ -n ${RESTORE_FROM:-} ]]; then
    expect RESTORE_FROM '^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9_.()-]{1,90}/providers/Microsoft\.Compute/snapshots/[A-Za-z0-9_.-]{1,80}$'
    found=$(az_json snapshot show --ids "$RESTORE_FROM") || fail "restoreFrom $RESTORE_FROM was not found"
    jq_node "$pick([o])" <<<"$found"
else
    # Read whole first, never piped into the helper (base.sh local_slot, jq_node).
    found=$(az_json snapshot list --subscription "$SUBSCRIPTION_ID")
    jq_node "$pick(o.filter((s) => ((s.creationData || {}).sourceResourceId || '').toLowerCase() === process.env.DISK_ID.toLowerCase()))" <<<"$found"
fi
