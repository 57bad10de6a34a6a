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

# after_reboot_recovered: strategy reboot-then-repair, and its reboot step brought the VM back
# (REBOOT_STATUS comes from that step's report). The repair and the swap then do nothing.
after_reboot_recovered() {
    [[ -z ${REBOOT_STATUS:-} ]] && return 1
    expect REBOOT_STATUS '^(recovered|not-recovered)$'
    [[ $REBOOT_STATUS == recovered ]]
}

# repair_preamble: what every repair command checks before it waits for anything. After a reboot
# that recovered the VM: prints the evidence of a skipped repair and exits. In teardown (the
# repair is not in the stack's state, so it never finished): fails, calling nothing.
repair_preamble() {
    if after_reboot_recovered; then
        log "$VM_LABEL: recovered by its reboot step; no repair needed"
        printf '%s' '{"tool":"bootloop-rescue","outcome":"skipped","exitCode":0,"message":"the VM recovered by reboot; its disk was not repaired","volumes":[]}'
        exit 0
    fi
    if [[ ${BOOTLOOP_TEARDOWN:-} == 1 ]]; then
        fail "$VM_LABEL: teardown found no finished repair for this VM in the stack; run without teardown until its chain completes, or remove it from the inventory"
    fi
}

# swap_preamble: after a reboot that recovered the VM, there is nothing to swap: reports
# recovered-by-reboot through the swap script's `report` and exits, calling nothing.
swap_preamble() {
    if after_reboot_recovered; then
        log "$VM_LABEL: recovered by its reboot step; nothing to swap"
        report recovered-by-reboot true
        exit 0
    fi
}

# reboot_until_healthy: the reboot strategies' loop, the same on every cloud. The cloud's script
# defines vm_healthy (0 when the VM shows a real boot signal now) and vm_restart (one restart), and
# may redefine vm_already_healthy (0 when the VM needs no restart at all). Needs MAX_REBOOTS,
# REBOOT_TIMEOUT_SECONDS, MUST_RECOVER and VM_LABEL. Stops at the first healthy boot. Prints one
# JSON report: status recovered or not-recovered, attempts, timings. Changes no disk.
vm_already_healthy() { vm_healthy; }
reboot_until_healthy() {
    expect MAX_REBOOTS '^[0-9]{1,3}$'
    expect REBOOT_TIMEOUT_SECONDS '^[0-9]{1,6}$'
    expect MUST_RECOVER '^(true|false)$'
    started=$SECONDS
    local attempt=0 up
    if vm_already_healthy; then
        log "$VM_LABEL: boots healthy already; no restart needed"
        reboot_report recovered 0
        return 0
    fi
    while ((attempt < MAX_REBOOTS)); do
        attempt=$((attempt + 1))
        log "$VM_LABEL: restart $attempt of $MAX_REBOOTS"
        vm_restart
        up=false
        until_deadline "$REBOOT_TIMEOUT_SECONDS"
        while :; do
            if vm_healthy; then up=true; break; fi
            expired && break
            pause
        done
        if [[ $up == true ]]; then
            log "$VM_LABEL: booted healthy after restart $attempt"
            reboot_report recovered "$attempt"
            return 0
        fi
        log "$VM_LABEL: no boot signal within $REBOOT_TIMEOUT_SECONDS s of restart $attempt"
    done
    if [[ $MUST_RECOVER == true ]]; then
        fail "$VM_LABEL: no healthy boot after $MAX_REBOOTS restarts; its disks are untouched; recover it with strategy reboot-then-repair, repair or restore"
    fi
    log "$VM_LABEL: no healthy boot after $MAX_REBOOTS restarts; the repair chain follows"
    reboot_report not-recovered "$attempt"
}

# reboot_report STATUS ATTEMPTS: the reboot step's one JSON report on stdout.
reboot_report() {
    STATUS=$1 ATTEMPTS=$2 TOTAL=$((SECONDS - ${started:-0})) node -e '
        const e = process.env;
        process.stdout.write(JSON.stringify({ status: e.STATUS, attempts: +e.ATTEMPTS, timings: { totalSeconds: +e.TOTAL } }));'
}

# rollback_report STATUS MESSAGE REPLACED: the rollback step's one JSON report on stdout, with the
# timings from stop_s, swap_s, boot_s (the start) and the seconds since $started.
rollback_report() {
    MESSAGE=$2 REPLACED=$3 swap_report "$1" false message=MESSAGE replacedDiskId=REPLACED
}

# rollback_noop WHAT ORIGINAL ROLLED_BACK_BEFORE: the VM runs on its original disk already, so the
# rollback does nothing: reports rolled-back (when the original carries the swap's mark, so it was
# swapped and rolled back before) or not-swapped, with a message, and exits.
rollback_noop() {
    local what=$1 original=$2 status message
    if [[ $3 == true ]]; then
        status=rolled-back
        message="already runs on its original $what $original (rolled back before); nothing to do"
    else
        status=not-swapped
        message="was never swapped: it runs on its original $what $original; nothing to do"
    fi
    log "$VM_LABEL: $message"
    rollback_report "$status" "$message" ""
    exit 0
}
