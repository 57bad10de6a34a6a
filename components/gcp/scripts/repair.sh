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

CODE=${seen[code]} VM_LABEL=$VM_LABEL local_slot node -e '
    const zlib = require("zlib");
    const line = require("fs").readFileSync(0, "utf8");
    const label = process.env.VM_LABEL;
    let evidence;
    try {
        const text = line.startsWith("gzip-base64:") ? zlib.gunzipSync(Buffer.from(line.slice(12), "base64")).toString() : line;
        evidence = JSON.parse(text);
    } catch {
        process.stderr.write(`bootloop-rescue: ${label}: the repair published no readable evidence (exit code ${process.env.CODE}); see /var/log/bootloop-rescue on the rescue instance\n`);
        process.exit(1);
    }
    if (evidence.exitCode !== 0) {
        process.stderr.write(`bootloop-rescue: ${label}: repair failed: ${evidence.outcome}: ${evidence.message}\n` + JSON.stringify(evidence) + "\n");
        process.exit(1);
    }
    // Packed (gzip-base64): the command keeps it in state; the record shows it decoded.
    process.stdout.write("gzip-base64:" + require("zlib").gzipSync(JSON.stringify(evidence), { level: 9 }).toString("base64"));
' <<<"${seen[evidence]}"
