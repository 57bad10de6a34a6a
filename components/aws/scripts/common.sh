# Shared by the AWS command scripts. They run where `pulumi up` runs, with the AWS CLI and node.
# Inventory values arrive only as environment variables, are checked against strict patterns,
# and are always quoted: never evaluated as code.
set -euo pipefail

log() { printf 'bootloop-rescue: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# need VAR...: every variable is set.
need() { local v; for v in "$@"; do [[ -n ${!v:-} ]] || fail "internal: $v is not set"; done; }

# expect VAR REGEX: the variable's value matches, or stop before any call.
expect() { [[ ${!1} =~ $2 ]] || fail "$1 has an unexpected value; refusing to run"; }

POLL_SECONDS=${POLL_SECONDS:-10}
MAX_ATTEMPTS=${MAX_ATTEMPTS:-8}
BACKOFF_SECONDS=${BACKOFF_SECONDS:-2}
errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

# aws_json ARGS...: one AWS CLI call, JSON on stdout. Throttling and transient errors are retried
# with exponential backoff (BACKOFF_SECONDS, doubling, at most 60 s, MAX_ATTEMPTS tries).
aws_json() {
    local attempt=1 delay=$BACKOFF_SECONDS out
    while :; do
        if out=$(aws --region "$AWS_REGION" --output json "$@" 2>"$errfile"); then
            printf '%s' "$out"
            return 0
        fi
        if grep -qE 'Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown|ServiceUnavailable|InternalError|RequestTimeout' "$errfile" && ((attempt < MAX_ATTEMPTS)); then
            log "aws $1 $2 was throttled (try $attempt of $MAX_ATTEMPTS); retrying in ${delay}s"
            sleep "$delay"
            delay=$((delay * 2 > 60 ? 60 : delay * 2))
            attempt=$((attempt + 1))
            continue
        fi
        log "aws $1 $2 failed: $(tr '\n' ' ' <"$errfile")"
        return 1
    done
}

# jq_node EXPRESSION: evaluates a fixed JavaScript expression over the JSON on stdin (as `o`),
# printing strings raw and anything else as JSON. Values it needs come from process.env.
jq_node() {
    node -e '
        const o = JSON.parse(require("fs").readFileSync(0, "utf8") || "null");
        const v = (0, eval)("(o) => (" + process.argv[1] + ")")(o);
        process.stdout.write(v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
    ' "$1"
}

# until_deadline SECONDS: sets the deadline for the wait that follows.
until_deadline() { deadline=$((SECONDS + $1)); }
# expired: the current wait is past its deadline.
expired() { ((SECONDS >= deadline)); }
pause() { sleep "$POLL_SECONDS"; }

# For a VM in another account: act as the configured role there (credentials stay in this process).
if [[ -n ${ASSUME_ROLE_ARN:-} ]]; then
    expect ASSUME_ROLE_ARN '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]{1,512}$'
    credentials=$(aws_json sts assume-role --role-arn "$ASSUME_ROLE_ARN" --role-session-name bootloop-rescue) || fail "cannot assume $ASSUME_ROLE_ARN"
    AWS_ACCESS_KEY_ID=$(jq_node 'o.Credentials.AccessKeyId' <<<"$credentials")
    AWS_SECRET_ACCESS_KEY=$(jq_node 'o.Credentials.SecretAccessKey' <<<"$credentials")
    AWS_SESSION_TOKEN=$(jq_node 'o.Credentials.SessionToken' <<<"$credentials")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
    unset credentials AWS_PROFILE
fi
