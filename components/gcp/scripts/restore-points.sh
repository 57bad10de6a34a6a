# Restore points: lists the snapshots of the original boot disk in the project (scheduled and
# Backup and DR snapshots included), or the one snapshot RESTORE_FROM names, as JSON:
# [{id (the name), createdAt, state}]; SNAPSHOT_PROJECT is RESTORE_FROM's project when not PROJECT. Read-only; the lookup of strategy restore runs it and chooses.
need PROJECT ZONE DISK
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect DISK "$PATTERN_NAME"
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
    jq_node "$pick(o.filter((s) => (s.sourceDisk || '').endsWith('/projects/' + process.env.PROJECT + '/zones/' + process.env.ZONE + '/disks/' + process.env.DISK)))" <<<"$found"
fi
