#!/usr/bin/env bash
# Runs on a rescue VM, through the cloud's agent channel, for one attached disk: waits for the
# VM's first-boot setup, checks the tools, finds the disk by the cloud's attachment handle, runs
# repair-disk, keeps the evidence and log on the VM, and prints the evidence as one compact line.
# Input (environment): DISK_HANDLE_KIND (aws-volume-id | azure-lun | gcp-device-name), DISK_HANDLE;
# optional REBOOT_STATUS (recovered: print a "skipped" evidence and touch nothing), RULE_SET (a
# built-in rule set of repair-disk; default crowdstrike-291), BITLOCKER_KEY (recovery passwords,
# one per line, each optionally preceded by its key id) and BITLOCKER_BEK (BEK external key files,
# base64, separated by spaces): written to root-only files on tmpfs for the engine, removed on
# exit, never printed; KEY_SECRET_KIND (aws-secretsmanager | gcp-secret-manager) and KEY_SECRET (a
# secret that holds the keys, which fetch-key reads with this VM's own identity, into such files); TOOLS_VERSION (see below); and EVIDENCE_ENCODING=gzip-base64 (for agent
# channels that keep only a few KB of output). For agent channels that keep only so many
# characters (Systems Manager: 24,000), EVIDENCE_MAX_CHARS: a longer evidence line is printed as
# "parts:<count>:<sha256 of the whole line>:<part 0>" and kept; a run with EVIDENCE_PART=<i>
# prints part i of it and does nothing else. Exit code: repair-disk's, or 6 when it could not
# run. On failure the engine's reason is also printed to stderr, where agent channels show it.
set -uo pipefail
lib=${BOOTLOOP_RESCUE_LIB:-/usr/local/lib/bootloop-rescue}
logdir=${BOOTLOOP_RESCUE_LOG_DIR:-/var/log/bootloop-rescue}
keydir=${BOOTLOOP_RESCUE_KEY_DIR:-/run}

# A key file outlives a run killed outright (SIGKILL skips the EXIT trap): its name carries the
# pid of the run that wrote it, and the next run removes those of runs that are gone.
for leftover in "$keydir"/bootloop-rescue-key.*; do
    [[ -f $leftover && ! -L $leftover ]] || continue
    owner=${leftover#"$keydir"/bootloop-rescue-key.}
    owner=${owner%%.*}
    [[ $owner =~ ^[0-9]+$ ]] && ! kill -0 "$owner" 2>/dev/null && rm -f -- "$leftover"
done

cannot_run() {  # $1: a fixed message (never input)
    printf '{"tool":"bootloop-rescue/on-rescue","outcome":"error","exitCode":6,"message":"%s"}\n' "$1"
    exit 6
}

# TOOLS_VERSION (Azure, whose tools arrive in a Run Command of their own): run only with that
# version of the tools installed, so that a repair never runs tools older than its stack's.
if [[ -n ${TOOLS_VERSION:-} ]]; then
    [[ $TOOLS_VERSION =~ ^[0-9a-f]{16}$ ]] || cannot_run "TOOLS_VERSION is not a tools version"
    if [[ $(cat "$lib/version" 2>/dev/null) != "$TOOLS_VERSION" ]]; then
        echo "bootloop-rescue: rescue tools $TOOLS_VERSION are not installed" >&2
        cannot_run "rescue tools $TOOLS_VERSION are not installed"
    fi
fi

case "${DISK_HANDLE_KIND:-}" in
    aws-volume-id | azure-lun | gcp-device-name) ;;
    *) cannot_run "unknown disk handle kind" ;;
esac
[[ -n ${DISK_HANDLE:-} ]] || cannot_run "no disk handle given"
name=$(printf '%s' "$DISK_HANDLE" | tr -c 'A-Za-z0-9_.-' '_')
max_chars=${EVIDENCE_MAX_CHARS:-}
[[ -z $max_chars || $max_chars =~ ^[1-9][0-9]{3,6}$ ]] || cannot_run "EVIDENCE_MAX_CHARS is not a number of characters"

# A later part of an evidence line too long for the agent channel: read back, nothing else done.
if [[ -n ${EVIDENCE_PART:-} ]]; then
    [[ $EVIDENCE_PART =~ ^[1-9][0-9]{0,3}$ && -n $max_chars ]] || cannot_run "EVIDENCE_PART needs a part number and EVIDENCE_MAX_CHARS"
    [[ -f $logdir/$name.parts ]] || cannot_run "no evidence in parts is kept for this disk"
    tail -c "+$((EVIDENCE_PART * max_chars + 1))" "$logdir/$name.parts" | head -c "$max_chars"
    printf '\n'
    exit 0
fi

# Strategy reboot-then-repair: the VM came back at its reboot step; its disk copy is not touched.
if [[ ${REBOOT_STATUS:-} == recovered ]]; then
    printf '%s\n' '{"tool":"bootloop-rescue/on-rescue","outcome":"skipped","exitCode":0,"message":"the VM recovered by reboot; its disk was not repaired","volumes":[]}'
    exit 0
fi

# First boot installs ntfs-3g and dislocker (cloud-init); wait for it, within bounds.
if command -v cloud-init >/dev/null 2>&1; then timeout 900 cloud-init status --wait >/dev/null 2>&1 || true; fi
for tool in python3 ntfs-3g losetup mount umount blockdev; do
    command -v "$tool" >/dev/null 2>&1 || cannot_run "the rescue VM lacks $tool: it installs ntfs-3g and dislocker at first boot from its OS package archive, which needs egress to it (docs/operators-guide.md: what the rescue VMs need from the network), or use a rescue image that has them"
done

dev=$("$lib/find-disk" "--$DISK_HANDLE_KIND" "$DISK_HANDLE" --wait 300) || cannot_run "find-disk did not find the attached disk on the rescue VM (or refused it as in use)"

install -d -m 0700 "$logdir"
args=(--disk "$dev")
if [[ -n ${RULE_SET:-} ]]; then
    [[ $RULE_SET =~ ^[a-z0-9-]{1,64}$ ]] || cannot_run "RULE_SET is not a rule set's name"
    args+=(--rule-set "$RULE_SET")
fi
# Keys go to root-only files on tmpfs named for this run (see the leftovers above), removed on exit.
keyfiles=()
trap 'rm -f "${keyfiles[@]}"' EXIT
new_keyfile() {
    keyfile=$(umask 077 && mktemp -p "$keydir" "bootloop-rescue-key.$$.XXXXXX") || cannot_run "no room for a key file on the rescue VM"
    keyfiles+=("$keyfile")
}
password_file=
if [[ -n ${BITLOCKER_KEY:-} ]]; then
    new_keyfile
    printf '%s\n' "$BITLOCKER_KEY" >"$keyfile"
    password_file=$keyfile
    args+=(--bitlocker-key-file "$keyfile")
fi
if [[ -n ${BITLOCKER_BEK:-} ]]; then
    read -r -a beks <<<"$BITLOCKER_BEK"
    ((${#beks[@]} <= 16)) || cannot_run "BITLOCKER_BEK holds more than 16 key files"
    for bek in "${beks[@]}"; do
        # `+` and a length check, not {1,8192}: bash would build a regex of 8192 states (1 GB, 1 s) per key.
        [[ $bek =~ ^[A-Za-z0-9+/]+={0,2}$ ]] && ((${#bek} <= 8192)) || cannot_run "BITLOCKER_BEK is not base64 BEK files separated by spaces"
        new_keyfile
        printf '%s' "$bek" | base64 -d >"$keyfile" 2>/dev/null || cannot_run "BITLOCKER_BEK is not base64 BEK files separated by spaces"
        args+=(--bitlocker-bek-file "$keyfile")
    done
fi
unset BITLOCKER_KEY BITLOCKER_BEK bek beks
# KEY_SECRET: a secret of the cloud's secret store holding this disk's keys, read by fetch-key with
# this VM's own identity into root-only files named like the others; its message (never a key)
# becomes the evidence when it cannot.
if [[ -n ${KEY_SECRET:-} ]]; then
    case ${KEY_SECRET_KIND:-} in
        aws-secretsmanager) from=--aws-secret ;;
        gcp-secret-manager) from=--gcp-secret ;;
        *) cannot_run "KEY_SECRET_KIND is not a secret store this tool reads" ;;
    esac
    prefix="$keydir/bootloop-rescue-key.$$.secret"
    keyfiles+=("$prefix.pw" "$prefix".bek{1..16})
    if ! fetched=$("$lib/fetch-key" "$from" "$KEY_SECRET" --out-prefix "$prefix" 2>"$logdir/$name.fetch-key.log"); then
        python3 - "$logdir/$name.fetch-key.log" <<'PY' || cannot_run "fetch-key could not read the disk's keys from the secret store"
import json, sys
lines = [l.strip() for l in open(sys.argv[1], errors="replace") if l.strip()]
print(json.dumps({"tool": "bootloop-rescue/on-rescue", "outcome": "error", "exitCode": 6, "message": (lines[-1] if lines else "fetch-key failed")[:1000]}, separators=(",", ":")))
PY
        exit 6
    fi
    while read -r kind file; do
        [[ $file == "$prefix".* ]] || continue
        case $kind in
            # The engine takes one file of recovery passwords: a second source adds to it.
            password-file) if [[ -n $password_file ]]; then cat -- "$file" >>"$password_file"; else args+=(--bitlocker-key-file "$file"); fi ;;
            bek-file) args+=(--bitlocker-bek-file "$file") ;;
        esac
    done <<<"$fetched"
fi
# This run's own evidence file: a repair of the same disk sent again while this one runs waits
# for it in the engine (a lock per disk), and must not overwrite what this one prints.
evidence="$logdir/$name.$$.json"
"$lib/repair-disk" "${args[@]}" >"$evidence" 2>>"$logdir/$name.log"
code=$?
((${#keyfiles[@]})) && rm -f "${keyfiles[@]}"
if ((code != 0)); then
    reason=$(python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); print("repair-disk: %s: %s" % (e.get("outcome"), e.get("message")))' "$evidence" 2>/dev/null) &&
        printf '%s\n' "$reason" >&2
fi
# A request sent again after its first run repaired the disk (an interrupted `pulumi up` whose
# cloud re-sent it) finds nothing to do: it reports the first run's evidence instead, when that
# run's quarantine folder is on this very disk, so the record keeps what was repaired.
python3 - "$evidence" "${EVIDENCE_ENCODING:-json}" "$logdir/$name.json" "${max_chars:-0}" "$logdir/$name.parts" <<'PY' || cannot_run "repair-disk printed no evidence; see /var/log/bootloop-rescue on the rescue VM"
import base64, gzip, json, sys
current = json.load(open(sys.argv[1]))
try:
    earlier = json.load(open(sys.argv[3]))
except (OSError, ValueError):
    earlier = None
if current.get("outcome") == "nothing-to-do" and isinstance(earlier, dict) and earlier.get("outcome") == "repaired" and earlier.get("exitCode") == 0:
    made = {(v.get("partition"), v.get("quarantineFolder")) for v in earlier.get("volumes", []) if v.get("quarantineFolder")}
    found = {(v.get("partition"), q) for v in current.get("volumes", []) for q in v.get("earlierQuarantines", [])}
    if made and made <= found:
        sys.stderr.write("on-rescue: this disk was repaired by an earlier request (quarantine %s); reporting that repair's evidence\n" % ", ".join(sorted(q for _, q in made)))
        current = earlier
        json.dump(earlier, open(sys.argv[1], "w"))
text = json.dumps(current, separators=(",", ":"))
packed = "gzip-base64:" + base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()
limit = int(sys.argv[4])
# Packed when asked, and when too long for the channel: it may fit then, and parts must be
# ASCII (characters are bytes).
if sys.argv[2] == "gzip-base64" or (limit and len(text) > limit):
    text = packed
if limit and len(text) > limit:
    import hashlib, os
    with open(sys.argv[5] + ".tmp", "w") as f:
        f.write(text)
    os.replace(sys.argv[5] + ".tmp", sys.argv[5])
    count = (len(text) + limit - 1) // limit
    text = "parts:%d:%s:%s" % (count, hashlib.sha256(text.encode()).hexdigest(), text[:limit])
print(text)
PY
# The latest evidence of this disk under its handle's name, for whoever looks on the rescue VM.
mv -f "$evidence" "$logdir/$name.json"
# Codes 3, 4 and 5 may be a failure of the VM's own disk (no Windows, BitLocker without a working
# key, unsafe to change): the control side reads the evidence, which carries the code and outcome,
# records the VM failed and lets the fleet go on; so they exit 0 where the evidence always comes
# back whole (Systems Manager in parts, GCP guest attributes with a checksum). Azure's Run Command
# output (disks at a LUN) can arrive cut off, so there the exit code stays the only sure word and
# fails the Run Command. Any other failure exits with the engine's code.
if [[ $DISK_HANDLE_KIND != azure-lun ]]; then
    case $code in 3 | 4 | 5) exit 0 ;; esac
fi
exit "$code"
