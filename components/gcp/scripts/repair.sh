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
until_deadline "$REPAIR_TIMEOUT_SECONDS"
while :; do
    # No attributes yet is an error for gcloud; it only means "not done yet" here.
    attributes=$(gc instances get-guest-attributes "$RESCUE_INSTANCE" --query-path=bootloop-rescue/ 2>/dev/null) || attributes='[]'
    chunks=$(DEVICE=$DEVICE_NAME jq_node '((o || []).find((a) => a.key === process.env.DEVICE + "-chunks") || {}).value || ""' <<<"$attributes")
    [[ -n $chunks ]] && break
    expired && fail "$VM_LABEL: rescue instance $RESCUE_INSTANCE published no result for $DEVICE_NAME within $REPAIR_TIMEOUT_SECONDS s (its first boot installs ntfs-3g from the Debian archive, which needs egress, e.g. Cloud NAT)"
    pause
done

DEVICE=$DEVICE_NAME VM_LABEL=$VM_LABEL node -e '
    const zlib = require("zlib");
    const attrs = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const get = (k) => (attrs.find((a) => a.key === `${process.env.DEVICE}-${k}`) || {}).value;
    const label = process.env.VM_LABEL;
    const n = Number(get("chunks"));
    let line = "";
    for (let i = 0; i < n; i++) line += get(`c${i}`) ?? "";
    let evidence;
    try {
        const text = line.startsWith("gzip-base64:") ? zlib.gunzipSync(Buffer.from(line.slice(12), "base64")).toString() : line;
        evidence = JSON.parse(text);
    } catch {
        process.stderr.write(`bootloop-rescue: ${label}: the repair published no readable evidence (exit code ${get("code")}); see /var/log/bootloop-rescue on the rescue instance\n`);
        process.exit(1);
    }
    if (evidence.exitCode !== 0) {
        process.stderr.write(`bootloop-rescue: ${label}: repair failed: ${evidence.outcome}: ${evidence.message}\n` + JSON.stringify(evidence) + "\n");
        process.exit(1);
    }
    process.stdout.write(JSON.stringify(evidence));
' <<<"$attributes"
