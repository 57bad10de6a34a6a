#!/usr/bin/env bash
# bootloop-rescue agent on a GCP rescue instance (installed by its startup script, run by systemd).
# The request is the attachment itself: every disk attached with a device name starting "br-" is
# repaired once, and its evidence is published as guest attributes (namespace bootloop-rescue),
# gzip-base64 in chunks: <device>-c0 … <device>-cN-1, then <device>-code and <device>-chunks last.
# No inbound connection, no SSH, no metadata write by the deployer. A device that goes away is
# forgotten (markers and attributes), so a new attachment under that name is repaired afresh.
set -u
lib=${BOOTLOOP_RESCUE_LIB:-/usr/local/lib/bootloop-rescue}
state=${BOOTLOOP_RESCUE_STATE:-/var/lib/bootloop-rescue}
byid=${BOOTLOOP_RESCUE_BYID:-/dev/disk/by-id}
attributes=${BOOTLOOP_RESCUE_ATTRIBUTES:-http://metadata.google.internal/computeMetadata/v1/instance/guest-attributes/bootloop-rescue}
metadata=${BOOTLOOP_RESCUE_METADATA:-http://metadata.google.internal/computeMetadata/v1/instance/attributes}
disk_timeout=${BOOTLOOP_RESCUE_DISK_TIMEOUT:-3600}
[[ $disk_timeout =~ ^[0-9]{1,6}$ ]] || disk_timeout=3600
mkdir -p "$state/started" "$state/done" "$state/out" /var/log/bootloop-rescue

# rule_set DEVICE: the engine's rule set the stack set in this instance's metadata for the disk
# attached as DEVICE: bootloop-rescue-linux-rule-set for a Linux guest's disk (a device name ending
# in -linux), else bootloop-rescue-rule-set; read at each repair so that a changed ruleSet reaches
# a running pool; empty (the engine's default) when there is none or it is not a name.
rule_set() {
    local value key=bootloop-rescue-rule-set
    [[ $1 == *-linux ]] && key=bootloop-rescue-linux-rule-set
    value=$(python3 - "$metadata/$key" <<'PY' 2>/dev/null
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Metadata-Flavor": "Google"})
print(urllib.request.urlopen(req, timeout=10).read(64).decode())
PY
) || value=""
    [[ $value =~ ^[a-z0-9-]{1,64}$ ]] && printf '%s' "$value"
}

# key_secret DEVICE: the Secret Manager secret that holds the keys of the disk attached as DEVICE
# (br-<slug>-<hash>), from this instance's metadata (bootloop-rescue-secret-<slug>, set by the
# stack); empty when there is none or it is not a secret's name. A name only: fetch-key reads the
# keys themselves with this instance's service account.
key_secret() {
    local slug=${1#br-} value
    slug=${slug%-*}
    [[ $slug =~ ^[a-z0-9-]{1,60}$ ]] || return 0
    value=$(python3 - "$metadata/bootloop-rescue-secret-$slug" <<'PY' 2>/dev/null
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Metadata-Flavor": "Google"})
print(urllib.request.urlopen(req, timeout=10).read(512).decode())
PY
) || value=""
    [[ $value =~ ^projects/[a-z0-9-]{1,30}/secrets/[A-Za-z0-9_-]{1,255}(/versions/(latest|[1-9][0-9]{0,9}))?$ ]] && printf '%s' "$value"
}

# attempts: "SLUG ATTEMPT" per line for every disk the stack asks to repair again (a retried VM:
# this instance's metadata bootloop-rescue-attempt-<slug>), read in one request; nothing when there
# is none or the metadata server does not answer (then no repair is started again).
attempts() {
    python3 - "$metadata/?recursive=true" <<'PY' 2>/dev/null || true
import json, re, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Metadata-Flavor": "Google"})
data = json.loads(urllib.request.urlopen(req, timeout=10).read(1 << 20).decode())
for key, value in data.items():
    m = re.fullmatch(r"bootloop-rescue-attempt-([a-z0-9-]{1,60})", key)
    if m and re.fullmatch(r"[1-9][0-9]{0,2}", str(value)):
        print(m.group(1), value)
PY
}

# slug_of DEVICE: the VM's resource-name stem in a device name br-<slug>-<hash>[-linux].
slug_of() {
    local slug=${1#br-}
    slug=${slug%-linux}
    printf '%s' "${slug%-*}"
}

# publish NAME CODE FILE ATTEMPT: the evidence line in FILE (read from the file: a long line would not fit
# in an argument), in chunks, then the attempt, the code and the chunk count last; each write
# retried with backoff, since the metadata server may refuse for a moment.
publish() {
    python3 - "$attributes" "$1" "$2" "$3" "$4" <<'PY'
import sys, time, urllib.request
base, name, code, path, attempt = sys.argv[1:6]
with open(path) as f:
    lines = [l for l in f.read().splitlines() if l.strip()]
line = lines[-1] if lines else ""
def put(key, value):
    for attempt in range(6):
        try:
            req = urllib.request.Request(f"{base}/{key}", data=value.encode(), method="PUT", headers={"Metadata-Flavor": "Google"})
            urllib.request.urlopen(req, timeout=10).read()
            return
        except Exception:
            if attempt == 5:
                raise
            time.sleep(0.5 * 2 ** attempt)
chunks = [line[i:i + 240] for i in range(0, len(line), 240)] or [""]
for i, c in enumerate(chunks):
    put(f"{name}-c{i}", c)
put(f"{name}-attempt", attempt)
put(f"{name}-code", code)
put(f"{name}-chunks", str(len(chunks)))
PY
}

forget() {  # NAME: the device is gone (or repaired again): withdraw every chunk it published (as many as it said)
    rm -f "$state/started/$1" "$state/out/$1" "$state/done/$1"
    python3 - "$attributes" "$1" <<'PY' || true
import sys, urllib.request
base, name = sys.argv[1:3]
def call(key, method):
    req = urllib.request.Request(f"{base}/{key}", method=method, headers={"Metadata-Flavor": "Google"})
    return urllib.request.urlopen(req, timeout=5).read().decode()
try:
    count = int(call(f"{name}-chunks", "GET"))
except Exception:
    count = 64
for key in [f"{name}-chunks", f"{name}-code", f"{name}-attempt"] + [f"{name}-c{i}" for i in range(max(count, 1))]:
    try:
        call(key, "DELETE")
    except Exception:
        pass
PY
}

once() {
    for marker in "$state"/started/*; do
        [[ -e $marker ]] || continue
        name=${marker##*/}
        [[ -e $byid/google-$name ]] || forget "$name"
    done
    local -A want=()
    local slug n attempt
    while read -r slug n; do want[$slug]=$n; done < <(attempts)
    for link in "$byid"/google-br-*; do
        [[ -e $link ]] || continue
        name=${link##*/google-}
        # Partitions of an attached disk show as <name>-partN: skip those, not names with "-part" in them.
        [[ $name =~ ^br-[a-z0-9-]{1,59}$ && ! $name =~ -part[0-9]+$ ]] || continue
        attempt=${want[$(slug_of "$name")]:-1}
        if [[ -e $state/started/$name ]]; then
            # Repaired (or repairing) already: again only when the stack asks for a later attempt,
            # once the earlier one has published its result. (A marker with no number: attempt 1.)
            n=$(<"$state/started/$name")
            [[ -e $state/done/$name ]] && ((attempt > ${n:-1})) || continue
            forget "$name"
        fi
        printf '%s' "$attempt" >"$state/started/$name"
        (
            # A disk gets at most disk_timeout seconds (SIGTERM, then SIGKILL a minute later: the
            # engine's next start releases what a killed run left); the others go on meanwhile.
            timeout --kill-after=60 "$disk_timeout" env DISK_HANDLE_KIND=gcp-device-name DISK_HANDLE="$name" EVIDENCE_ENCODING=gzip-base64 RULE_SET="$(rule_set "$name")" \
                KEY_SECRET_KIND=gcp-secret-manager KEY_SECRET="$(key_secret "$name")" \
                "$lib/on-rescue.sh" >"$state/out/$name" 2>>"/var/log/bootloop-rescue/$name.agent.log"
            code=$?
            if ((code == 124 || code == 137)); then
                printf '{"tool":"bootloop-rescue/agent","outcome":"error","exitCode":6,"message":"the repair did not finish within %s s on the rescue instance; it was stopped"}\n' "$disk_timeout" >>"$state/out/$name"
                code=6
            fi
            publish "$name" "$code" "$state/out/$name" "$attempt"
            touch "$state/done/$name"
        ) &
    done
}

if [[ ${1:-} == --once ]]; then once; wait; exit 0; fi
while :; do once; sleep 3; done
