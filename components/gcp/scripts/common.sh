# GCP helpers, after core's base.sh.

PATTERN_PROJECT='^([a-z][-a-z0-9.]{0,61}[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$'
PATTERN_ZONE='^[a-z]+-[a-z]+[0-9]{1,2}-[a-z]$'
PATTERN_NAME='^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'

# gc ARGS...: one `gcloud compute` call in $PROJECT and $ZONE, JSON on stdout. Rate limits, quota
# pressure and transient errors are retried with backoff.
gc() {
    with_retries 'rateLimitExceeded|RATE_LIMIT_EXCEEDED|RESOURCE_EXHAUSTED|Quota exceeded for quota metric|429|503|backendError|internalError|try again' "gcloud compute $1 $2" \
        gcloud compute "$@" --project "$PROJECT" --zone "$ZONE" --format json --quiet
}
