# Repair: the rescue instance's agent repairs every disk attached with a device name "br-…" and
# publishes the evidence as guest attributes; this step waits for them (reads only) and prints
# the evidence. A failed repair fails this step with the engine's reason.
need PROJECT ZONE RESCUE_INSTANCE DEVICE_NAME VM_LABEL REPAIR_TIMEOUT_SECONDS
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect RESCUE_INSTANCE "$PATTERN_NAME"
expect DEVICE_NAME '^br-[a-z0-9-]{1,59}$'
expect REPAIR_TIMEOUT_SECONDS '^[0-9]{1,6}$'
repair_preamble

log "$VM_LABEL: waiting for the agent on $RESCUE_INSTANCE to repair $DEVICE_NAME"
# One read of the rescue instance's guest attributes (by the watcher) answers every disk on it.
wait_for guest-attributes "$DEVICE_NAME" done "$REPAIR_TIMEOUT_SECONDS" "rescue=$RESCUE_INSTANCE" ||
    fail "$VM_LABEL: rescue instance $RESCUE_INSTANCE published no result for $DEVICE_NAME within $REPAIR_TIMEOUT_SECONDS s (its first boot installs ntfs-3g from the Debian archive, which needs egress, e.g. Cloud NAT)"

# Settled (checked, a failed repair fails the step) and packed as the state keeps it.
EVIDENCE_UNREADABLE="the repair published no readable evidence (exit code ${seen[code]}); see /var/log/bootloop-rescue on the rescue instance" VM_LABEL=$VM_LABEL \
    local_slot node "$BOOTLOOP_HOME/components/core/scripts/evidence.js" settle <<<"${seen[evidence]}"
