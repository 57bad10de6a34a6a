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
mkdir -p "$state/started" /var/log/bootloop-rescue

publish() {  # NAME CODE EVIDENCE-LINE
    python3 - "$attributes" "$1" "$2" "$3" <<'PY'
import sys, urllib.request
base, name, code, line = sys.argv[1:5]
def put(key, value):
    req = urllib.request.Request(f"{base}/{key}", data=value.encode(), method="PUT", headers={"Metadata-Flavor": "Google"})
    urllib.request.urlopen(req, timeout=10).read()
chunks = [line[i:i + 240] for i in range(0, len(line), 240)] or [""]
for i, c in enumerate(chunks):
    put(f"{name}-c{i}", c)
put(f"{name}-code", code)
put(f"{name}-chunks", str(len(chunks)))
PY
}

forget() {  # NAME: the device is gone
    rm -f "$state/started/$1"
    python3 - "$attributes" "$1" <<'PY' || true
import sys, urllib.request
base, name = sys.argv[1:3]
for key in [f"{name}-chunks", f"{name}-code"] + [f"{name}-c{i}" for i in range(64)]:
    try:
        urllib.request.urlopen(urllib.request.Request(f"{base}/{key}", method="DELETE", headers={"Metadata-Flavor": "Google"}), timeout=5).read()
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
    for link in "$byid"/google-br-*; do
        [[ -e $link ]] || continue
        name=${link##*/google-}
        [[ $name =~ ^br-[a-z0-9-]{1,59}$ && $name != *-part* ]] || continue
        [[ -e $state/started/$name ]] && continue
        touch "$state/started/$name"
        (
            out=$(DISK_HANDLE_KIND=gcp-device-name DISK_HANDLE=$name EVIDENCE_ENCODING=gzip-base64 "$lib/on-rescue.sh" 2>>"/var/log/bootloop-rescue/$name.agent.log")
            code=$?
            publish "$name" "$code" "$(printf '%s\n' "$out" | tail -n 1)"
        ) &
    done
}

if [[ ${1:-} == --once ]]; then once; wait; exit 0; fi
while :; do once; sleep 3; done
