# GCP helpers, after core's base.sh.

PATTERN_PROJECT='^([a-z][-a-z0-9.]{0,61}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$'
PATTERN_ZONE='^[a-z]+-[a-z]+[0-9]{1,2}-[a-z]$'
PATTERN_NAME='^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'

# gc ARGS...: one `gcloud compute` call in $PROJECT and $ZONE, JSON on stdout. Rate limits, quota
# pressure and transient errors are retried with backoff.
GCLOUD_TRANSIENT='rateLimitExceeded|RATE_LIMIT_EXCEEDED|RESOURCE_EXHAUSTED|Quota exceeded for quota metric|429|503|backendError|internalError|try again'
gc() {
    with_retries "$GCLOUD_TRANSIENT" "gcloud compute $1 $2" gcloud compute "$@" --project "$PROJECT" --zone "$ZONE" --format json --quiet
}
# gc_global ARGS...: the same for global resources (snapshots), which take no zone.
gc_global() {
    with_retries "$GCLOUD_TRANSIENT" "gcloud compute $1 $2" gcloud compute "$@" --project "$PROJECT" --format json --quiet
}

describe() { gc instances describe "$INSTANCE"; }
status_of() { jq_node 'o.status'; }
boot_of() { jq_node '((o.disks || []).find((d) => d.boot) || { source: "none" }).source.split("/").pop()'; }
serial_next() { gc instances get-serial-port-output "$INSTANCE" --port 1 --start "$1" | jq_node 'String(o.next)'; }
serial_since() { gc instances get-serial-port-output "$INSTANCE" --port 1 --start "$1" | jq_node 'o.contents || ""'; }
# disk_label DISK KEY: the value of one of the disk's labels ("" when it has none).
disk_label() { gc disks describe "$1" | KEY=$2 jq_node '(o.labels || {})[process.env.KEY] || ""'; }
STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-600}

wait_status() {  # STATUS TIMEOUT
    until_deadline "$2"
    until [[ $(describe | status_of) == "$1" ]]; do
        expired && return 1
        pause
    done
}
