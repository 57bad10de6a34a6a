# Attach: the scratch disk goes onto the zone's rescue VM at its seat's LUN. Idempotent: a disk
# already at that LUN is left alone; another disk there is an error, never overwritten. Attaches
# to one rescue VM run one at a time (each is an update of that VM, and concurrent updates of one
# VM collide); the lock outlives the watcher (with_lock in base.sh).
need RESCUE_VM_ID DISK_ID LUN VM_LABEL
expect RESCUE_VM_ID "$PATTERN_VM_ID"
expect DISK_ID "$PATTERN_DISK_ID"
expect LUN '^([0-9]|[1-5][0-9]|6[0-3])$'
IFS=/ read -r _ _ subscription _ group _ _ _ rescue <<<"$RESCUE_VM_ID"
watch_subscription "$subscription"
ATTACH_TIMEOUT_SECONDS=${ATTACH_TIMEOUT_SECONDS:-900}

observe data-disks "$RESCUE_VM_ID" "lun=$LUN" "disk=$DISK_ID"
if [[ ${seen[atlun]} != none ]]; then
    [[ ${seen[atlun]} == $(lower "$DISK_ID") ]] || fail "$VM_LABEL: LUN $LUN of rescue VM $rescue already holds another disk (${seen[atlun]}); nothing attached"
    log "$VM_LABEL: the scratch disk is already attached at LUN $LUN"
    exit 0
fi
attach_now() {
    log "$VM_LABEL: attaching the scratch disk to $rescue at LUN $LUN"
    az_json vm disk attach --subscription "$subscription" -g "$group" --vm-name "$rescue" --name "$DISK_ID" --lun "$LUN" >/dev/null
}
with_lock "azure-attach $(lower "$RESCUE_VM_ID")" attach_now
wait_for data-disks "$RESCUE_VM_ID" attached "$ATTACH_TIMEOUT_SECONDS" "lun=$LUN" "disk=$DISK_ID" ||
    fail "$VM_LABEL: the attach of the scratch disk at LUN $LUN could not be verified"
