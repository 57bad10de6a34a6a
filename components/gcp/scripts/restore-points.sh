# Restore points: lists the snapshots of the project (scheduled and Backup and DR snapshots
# included), or the one snapshot RESTORE_FROM names, as JSON: [{id (the name), createdAt, state,
# source}] (source: the disk it was taken from); SNAPSHOT_PROJECT is RESTORE_FROM's project when
# not PROJECT. Read-only; the lookup of strategy restore runs the listing once per project, and
# chooses each VM's among the snapshots of its original boot disk.
need PROJECT
expect PROJECT "$PATTERN_PROJECT"
pick='((list) => list.map((s) => ({ id: s.name, createdAt: s.creationTimestamp, state: s.status === "READY" ? "ready" : s.status, source: s.sourceDisk || "" })))'
if [[ -n ${RESTORE_FROM:-} ]]; then
    expect RESTORE_FROM "$PATTERN_NAME"
    SNAPSHOT_PROJECT=${SNAPSHOT_PROJECT:-$PROJECT}
    expect SNAPSHOT_PROJECT "$PATTERN_PROJECT"
    found=$(PROJECT=$SNAPSHOT_PROJECT gc_global snapshots describe "$RESTORE_FROM") || fail "restoreFrom $RESTORE_FROM was not found in project $SNAPSHOT_PROJECT"
    jq_node "$pick([o])" <<<"$found"
else
    # Read whole first, never piped into the helper (base.sh local_slot, jq_node).
    found=$(gc_global snapshots list)
    jq_node "$pick(o)" <<<"$found"
fi
