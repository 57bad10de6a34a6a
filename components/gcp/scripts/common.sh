# GCP helpers, after core's base.sh.

PATTERN_PROJECT='^([a-z][-a-z0-9.]{0,61}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$'
PATTERN_ZONE='^[a-z]+-[a-z]+[0-9]{1,2}-[a-z]$'
PATTERN_NAME='^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'

# gc ARGS...: one `gcloud compute` call in $PROJECT and $ZONE through the watcher's gate, JSON on
# stdout. Rate limits, quota pressure, gcloud's own "database is locked" and transient errors are
# retried with backoff until the step's deadline.
gc() {
    cloud_call "$1 $2" gcloud compute "$@" --project "$PROJECT" --zone "$ZONE" --format json --quiet
}
# gc_global ARGS...: the same for global resources (snapshots), which take no zone.
gc_global() {
    cloud_call "$1 $2" gcloud compute "$@" --project "$PROJECT" --format json --quiet
}

WATCH_CLOUD=gcp
WATCH_SCOPE=$'\t'"project=${PROJECT:-}"$'\t'"zone=${ZONE:-}"

# instance_now: the instance's status and boot disk ("none"), freshly observed, in $status and $boot.
instance_now() {
    observe instance "$INSTANCE"
    status=${seen[status]}
    boot=${seen[boot]}
}
# serial_next: the offset where the next serial port 1 output will start (output after it is new).
serial_next() {
    local out
    out=$(gc instances get-serial-port-output "$INSTANCE" --port 1 --start 0)
    [[ $out =~ \"next\":\ *\"?([0-9]+) ]] && printf '%s' "${BASH_REMATCH[1]}" || printf '0'
}
# booted_within SECONDS FROM: 0 once the instance is RUNNING and serial port 1 shows $BOOT_MARKER
# in output after offset FROM (the watcher reads the serial output only once it is RUNNING).
booted_within() {
    [[ $BOOT_MARKER != *[$'\t\n']* ]] || fail "BOOT_MARKER has an unexpected value; refusing to run"
    wait_for instance "$INSTANCE" booted "$1" "marker=$BOOT_MARKER" "from=$2"
}
# disk_label DISK KEY: the value of one of the disk's labels ("" when it has none). The answer is
# read whole before jq_node starts (piped, the two would hold two places at the gate at once).
disk_label() {
    local answer
    answer=$(gc disks describe "$1") || return
    KEY=$2 jq_node '(o.labels || {})[process.env.KEY] || ""' <<<"$answer"
}
STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-600}

wait_status() { wait_for instance "$INSTANCE" "$1" "$2"; }  # STATUS TIMEOUT
