# Attach: the scratch disk goes onto the zone's rescue VM at its seat's LUN. Idempotent: a disk
# already at that LUN is left alone; another disk there is an error, never overwritten.
need RESCUE_VM_ID DISK_ID LUN VM_LABEL
expect RESCUE_VM_ID "$PATTERN_VM_ID"
expect DISK_ID "$PATTERN_DISK_ID"
expect LUN '^([0-9]|[1-5][0-9]|6[0-3])$'
IFS=/ read -r _ _ subscription _ group _ _ _ rescue <<<"$RESCUE_VM_ID"

at_lun() { az_json vm show --subscription "$subscription" -g "$group" -n "$rescue" | LUN=$LUN jq_node '(o.storageProfile.dataDisks || []).filter((d) => String(d.lun) === process.env.LUN).map((d) => d.managedDisk.id)[0] || ""'; }

current=$(at_lun)
if [[ -n $current ]]; then
    [[ $(lower "$current") == $(lower "$DISK_ID") ]] || fail "$VM_LABEL: LUN $LUN of rescue VM $rescue already holds another disk ($current); nothing attached"
    log "$VM_LABEL: the scratch disk is already attached at LUN $LUN"
    exit 0
fi
log "$VM_LABEL: attaching the scratch disk to $rescue at LUN $LUN"
az_json vm disk attach --subscription "$subscription" -g "$group" --vm-name "$rescue" --name "$DISK_ID" --lun "$LUN" >/dev/null
[[ $(lower "$(at_lun)") == $(lower "$DISK_ID") ]] || fail "$VM_LABEL: the attach of the scratch disk at LUN $LUN could not be verified"
