# Swap + start + verify: deallocates the VM, sets its OS disk to the fixed disk (the original OS
# disk stays, detached and tagged), starts it and waits for a real boot signal: running, and the
# VM agent reporting Ready from inside Windows. Idempotent: a VM already running on the fixed disk
# with its agent ready is left alone. Prints one JSON report, then the repair's evidence (packed)
# read back from the repair Run Command (REPAIR_RUN_COMMAND_ID): the swap's output keeps it for the
# record after teardown deletes the Run Command with the rescue VM. A repair that failed for a
# reason of the VM's own swaps nothing: the report says failed, with the reason and what to do.
need SUBSCRIPTION_ID RESOURCE_GROUP VM_NAME ORIGINAL_DISK_ID FIXED_DISK_ID VM_LABEL BOOT_TIMEOUT_SECONDS
expect SUBSCRIPTION_ID "$PATTERN_GUID"
expect RESOURCE_GROUP "$PATTERN_RESOURCE_GROUP"
expect VM_NAME "$PATTERN_VM_NAME"
expect ORIGINAL_DISK_ID "$PATTERN_DISK_ID"
expect FIXED_DISK_ID "$PATTERN_DISK_ID"
expect BOOT_TIMEOUT_SECONDS '^[0-9]{1,6}(\.[0-9]+)?$'
[[ -z ${REPAIR_RUN_COMMAND_ID:-} ]] || expect REPAIR_RUN_COMMAND_ID "$PATTERN_RUN_COMMAND_ID"
started=$SECONDS

# repair_evidence: the last line the repair Run Command printed (its evidence, packed), or a JSON
# line saying why there is none. Never fails the swap: the VM's recovery does not hang on it.
repair_evidence() {
    local sub group vm name out reason
    if [[ -z ${REPAIR_RUN_COMMAND_ID:-} ]]; then
        reason="no repair Run Command ran for this VM in this stack"
    else
        IFS=/ read -r _ _ sub _ group _ _ _ vm _ name <<<"$REPAIR_RUN_COMMAND_ID"
        if out=$(cloud_call "vm run-command show" az vm run-command show --subscription "$sub" -g "$group" --vm-name "$vm" --run-command-name "$name" --instance-view --query instanceView.output --output tsv --only-show-errors); then
            out=${out%$'\n'}
            out=${out##*$'\n'}
            [[ -n $out ]] && { printf '%s' "$out"; return 0; }
            reason="the repair Run Command $name printed nothing"
        else
            reason="the repair Run Command $name could not be read"
        fi
    fi
    log "$VM_LABEL: $reason; the evidence stays in /var/log/bootloop-rescue on the rescue VM until teardown"
    json_str out "$reason"
    printf '{"outcome":"unknown","message":%s}' "$out"
}

# The repair's evidence, read once: first, to know whether the repair failed for a reason of the
# VM's own, and again for the report, which keeps it.
evidence=""
read_evidence() { [[ -n $evidence ]] || evidence=$(repair_evidence); }

report() {
    swap_report "$1" "$2"
    printf '\n'
    # Packed as the state keeps it (the Run Command printed it gzip-base64). Read first, then
    # packed: never in one pipeline, whose packing would hold a place at the gate while the read
    # waits for one.
    read_evidence
    local_slot node "$BOOTLOOP_HOME/components/core/scripts/evidence.js" repack <<<"$evidence"
}

# A repair that failed for a reason of the VM's own (no Windows, no working BitLocker key, an
# unsafe disk, nothing it may change) is the VM's outcome: swap_preamble reports it, swapping
# nothing. Not after a reboot that recovered the VM, nor in teardown (no evidence is read then).
if ! after_reboot_recovered && [[ ${BOOTLOOP_TEARDOWN:-} != 1 ]]; then
    read_evidence
    verdict=$(local_slot node "$BOOTLOOP_HOME/components/core/scripts/evidence.js" verdict <<<"$evidence")
    if [[ -n $verdict ]]; then
        { IFS= read -r REPAIR_FAILED; IFS= read -r REPAIR_NEXT_STEP; } <<<"$verdict"
    fi
fi
swap_preamble

rollback_hint="the original OS disk $ORIGINAL_DISK_ID is untouched and kept for rollback"
vm_now

if [[ $(lower "$disk") == $(lower "$FIXED_DISK_ID") && $power == running && $agent == Ready ]]; then
    log "$VM_LABEL: already running on the fixed disk with its agent ready; nothing to do"
    report recovered true
    exit 0
fi

if [[ $(lower "$disk") == $(lower "$ORIGINAL_DISK_ID") ]]; then
    t=$SECONDS
    [[ $power == deallocated ]] || deallocate "nothing was swapped; $rollback_hint"
    power=deallocated
    stop_s=$((SECONDS - t))
    t=$SECONDS
    az_json disk update --ids "$ORIGINAL_DISK_ID" --set "tags.bootloop-rescue-role=original-os" "tags.bootloop-rescue-replaced-by=${FIXED_DISK_ID##*/}" >/dev/null
    log "$VM_LABEL: setting the OS disk of $VM_NAME to the fixed disk (the original stays, detached)"
    set_os_disk "$FIXED_DISK_ID" "$rollback_hint"
    swap_s=$((SECONDS - t))
elif [[ $(lower "$disk") != $(lower "$FIXED_DISK_ID") ]]; then
    fail "$VM_LABEL: the OS disk of $VM_NAME is $disk, neither the original nor the fixed disk; someone changed it, so nothing is done"
fi

# The power state is known from here on (observed above, or deallocated by this step). A start of
# a VM still deallocating is refused as a conflict and retried until it can start.
t=$SECONDS
if [[ $power != running && $power != starting ]]; then
    log "$VM_LABEL: starting $VM_NAME on the fixed disk"
    az_json vm start "${vm_args[@]}" --no-wait >/dev/null
fi
# A fixed disk that does not boot is the VM's own outcome (vm_failed): the fleet goes on.
wait_vm healthy "$BOOT_TIMEOUT_SECONDS" "disk=$FIXED_DISK_ID" ||
    vm_failed "$VM_NAME did not report its VM agent Ready within $BOOT_TIMEOUT_SECONDS s on the fixed disk (power ${seen[power]:-unknown}, agent ${seen[agent]:-unknown})" \
        "check its boot diagnostics and the evidence; roll it back (setting rollback) or repair it by hand; $rollback_hint"
boot_s=$((SECONDS - t))
log "$VM_LABEL: running on the fixed disk, VM agent Ready"
report recovered false
