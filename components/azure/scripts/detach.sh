# Detach (teardown only): takes the scratch disk off the rescue VM, so that it and the rescue VM
# can be deleted. It never touches the affected VM or its disks. A rescue VM or disk already gone
# is not an error.
need RESCUE_VM_ID DISK_ID VM_LABEL
expect RESCUE_VM_ID "$PATTERN_VM_ID"
expect DISK_ID "$PATTERN_DISK_ID"
IFS=/ read -r _ _ subscription _ group _ _ _ rescue <<<"$RESCUE_VM_ID"
watch_subscription "$subscription"
disk_name=${DISK_ID##*/}
vm=$(az_json vm show --subscription "$subscription" -g "$group" -n "$rescue" 2>/dev/null) || { log "$VM_LABEL: rescue VM $rescue is gone; nothing to detach"; exit 0; }
attached=$(DISK=$(lower "$DISK_ID") jq_node '(o.storageProfile.dataDisks || []).some((d) => d.managedDisk.id.toLowerCase() === process.env.DISK) ? "yes" : ""' <<<"$vm")
[[ -n $attached ]] || { log "$VM_LABEL: the scratch disk is not attached to $rescue"; exit 0; }
log "$VM_LABEL: detaching the scratch disk from $rescue"
az_json vm disk detach --subscription "$subscription" -g "$group" --vm-name "$rescue" --name "$disk_name" >/dev/null
