# Repair: the rescue instance's agent repairs every disk attached with a device name "br-…" and
# publishes the evidence as guest attributes; this step waits for them (reads only) and prints
# the evidence. A failed repair fails this step with the engine's reason.
need PROJECT ZONE RESCUE_INSTANCE DEVICE_NAME VM_LABEL REPAIR_TIMEOUT_SECONDS
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect RESCUE_INSTANCE "$PATTERN_NAME"
expect DEVICE_NAME '^br-[a-z0-9-]{1,59}$'
expect REPAIR_TIMEOUT_SECONDS '^[0-9]{1,6}$'
# REPAIR_ATTEMPT: which attempt of this VM's repair this is (the inventory's retry: + 1; 1 when
# absent). The stack names it in the rescue instance's metadata; the agent repairs the disk again
# and publishes the attempt with the result, which is the one waited for.
REPAIR_ATTEMPT=${REPAIR_ATTEMPT:-1}
expect REPAIR_ATTEMPT '^[1-9][0-9]{0,2}$'
repair_preamble

log "$VM_LABEL: waiting for the agent on $RESCUE_INSTANCE to repair $DEVICE_NAME"
# One read of the rescue instance's guest attributes (by the watcher) answers every disk on it.
if ! wait_for guest-attributes "$DEVICE_NAME" done "$REPAIR_TIMEOUT_SECONDS" "rescue=$RESCUE_INSTANCE" "attempt=$REPAIR_ATTEMPT"; then
    ((REPAIR_ATTEMPT == 1)) ||
        fail "$VM_LABEL: rescue instance $RESCUE_INSTANCE published no result of attempt $REPAIR_ATTEMPT for $DEVICE_NAME within $REPAIR_TIMEOUT_SECONDS s (a rescue instance made before retries were supported repairs a disk once: take the VM out of the inventory and update, then put it back with retry: removed and update again)"
    fail "$VM_LABEL: rescue instance $RESCUE_INSTANCE published no result for $DEVICE_NAME within $REPAIR_TIMEOUT_SECONDS s (its first boot installs ntfs-3g from the Debian archive, which needs egress, e.g. Cloud NAT)"
fi

# Settled (checked, a failed repair fails the step) and packed as the state keeps it.
EVIDENCE_UNREADABLE="the repair published no readable evidence (exit code ${seen[code]}); see /var/log/bootloop-rescue on the rescue instance" VM_LABEL=$VM_LABEL \
    local_slot node "$BOOTLOOP_HOME/components/core/scripts/evidence.js" settle <<<"${seen[evidence]}"
