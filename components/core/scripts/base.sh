# Shared by every cloud's command scripts. They run where `pulumi up` runs, with the cloud's CLI
# and node. Inventory values arrive only as environment variables, are checked against strict
# patterns, and are always quoted: never evaluated as code.
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

# with_retries PATTERN LABEL COMMAND...: runs the command; when it fails with stderr matching
# PATTERN (throttling, busy, transient), retries with exponential backoff (BACKOFF_SECONDS,
# doubling, at most 60 s, MAX_ATTEMPTS tries). Stdout is passed through; the last error is logged.
with_retries() {
    local pattern=$1 label=$2 attempt=1 delay=$BACKOFF_SECONDS out
    shift 2
    while :; do
        if out=$("$@" 2>"$errfile"); then
            printf '%s' "$out"
            return 0
        fi
        if grep -qE "$pattern" "$errfile" && ((attempt < MAX_ATTEMPTS)); then
            log "$label was throttled or busy (try $attempt of $MAX_ATTEMPTS); retrying in ${delay}s"
            sleep "$delay"
            delay=$((delay * 2 > 60 ? 60 : delay * 2))
            attempt=$((attempt + 1))
            continue
        fi
        log "$label failed: $(tr '\n' ' ' <"$errfile")"
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

# until_deadline SECONDS: sets the deadline for the wait that follows; expired: it has passed.
until_deadline() { deadline=$((SECONDS + $1)); }
expired() { ((SECONDS >= deadline)); }
pause() { sleep "$POLL_SECONDS"; }

# swap_report STATUS ALREADY [FIELD=VARIABLE ...]: every swap's one JSON report on stdout: status,
# alreadyRecovered, the named fields (each the value of an environment variable), and the timings
# from stop_s, swap_s, boot_s and the seconds since $started.
swap_report() {
    local status=$1 already=$2
    shift 2
    STATUS=$status ALREADY=$already STOP=${stop_s:-0} SWAP=${swap_s:-0} BOOT=${boot_s:-0} TOTAL=$((SECONDS - ${started:-0})) node -e '
        const e = process.env;
        const fields = Object.fromEntries(process.argv.slice(1).map((f) => { const [k, v] = f.split("="); return [k, e[v] ?? ""]; }));
        process.stdout.write(JSON.stringify({
            status: e.STATUS, alreadyRecovered: e.ALREADY === "true", ...fields,
            timings: { stopSeconds: +e.STOP, swapSeconds: +e.SWAP, bootSeconds: +e.BOOT, totalSeconds: +e.TOTAL },
        }));' "$@"
}
