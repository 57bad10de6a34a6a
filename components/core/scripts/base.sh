# Shared by every cloud's command scripts. They run where `pulumi up` runs, with the cloud's CLI
# and node. Inventory values arrive only as environment variables, are checked against strict
# patterns, and are always quoted: never evaluated as code.
set -euo pipefail

log() { printf 'bootloop-rescue: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# need VAR...: every variable is set.
need() { local v; for v in "$@"; do [[ -n ${!v:-} ]] || fail "internal: $v is not set"; done; }

# expect VAR REGEX [MAX]: the variable's value matches (and has at most MAX characters), or stop
# before any call. A long run is written `+` with MAX, never as `{1,512}`: bash's regex engine
# expands a bounded repetition into that many states (4 MB per script for 512, 250 MB for 4000),
# which a thousand waiting scripts would each hold.
expect() {
    local value=${!1}
    [[ $value =~ $2 ]] && ((${#value} <= ${3:-100000})) || fail "$1 has an unexpected value; refusing to run"
}

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

# The step's own deadline (epoch seconds): retries of throttled or busy calls stop there. A command
# step is given one (the program sets STEP_TIMEOUT_SECONDS); a lookup runs under the default.
gate_report_due=${STEP_TIMEOUT_SECONDS:+1}
STEP_TIMEOUT_SECONDS=${STEP_TIMEOUT_SECONDS:-3600}
[[ $STEP_TIMEOUT_SECONDS =~ ^[0-9]{1,8}$ ]] || fail "STEP_TIMEOUT_SECONDS has an unexpected value; refusing to run"
STEP_DEADLINE=$((${EPOCHSECONDS:-$(date +%s)} + STEP_TIMEOUT_SECONDS))
# Time the step waited for a place at the watcher's gate (the runner's CLI processes at once, the
# scopes' rate limits) moves its deadline by as much, up to this allowance, which Pulumi's
# customTimeout includes (components/core/step-budget.ts GATE_QUEUE_ALLOWANCE_SECONDS, held equal
# by a test): a fleet queuing at the gate is the runner's load, not the step running out of time.
GATE_QUEUE_ALLOWANCE_SECONDS=3600
# Most calls run in a subshell (`out=$(aws_json …)`), whose variables die with it: what the step
# queued, and whether a call gave up for its deadline, is kept in a file of the step's, one line
# each (`queued S`, `deadline`), read by every shell of the step (gate_sync) and by gate_report.
gate_file=$(mktemp)
# Seconds of queuing this shell has moved its deadline by (at most the allowance).
gate_queued_seconds=0

# gate_read: what the step's shells noted: $gate_total (seconds queued in all, beyond the
# allowance too) and $gate_reached (1 when a call or a lock gave up for the deadline).
gate_read() {
    local what n
    gate_total=0 gate_reached=
    while read -r what n; do
        case $what in
            queued) gate_total=$((gate_total + n)) ;;
            deadline) gate_reached=1 ;;
        esac
    done <"$gate_file"
}

# gate_sync: moves this shell's deadline by the queuing the step noted since (its subshells' too),
# up to the allowance in all.
gate_sync() {
    gate_read
    local capped=$((gate_total < GATE_QUEUE_ALLOWANCE_SECONDS ? gate_total : GATE_QUEUE_ALLOWANCE_SECONDS))
    ((capped > gate_queued_seconds)) || return 0
    STEP_DEADLINE=$((STEP_DEADLINE + capped - gate_queued_seconds))
    gate_queued_seconds=$capped
}

# gate_queued SINCE: the step got its place at the gate, asked for at SINCE (epoch seconds).
gate_queued() {
    local waited=$((${EPOCHSECONDS:-$(date +%s)} - $1))
    ((waited <= 0)) || gate_add_queued "$waited"
}
# gate_add_queued SECONDS: the step waited SECONDS at the gate (a call the watcher made for it
# waited that long for its scope's rate).
gate_add_queued() {
    local waited=$1
    [[ $waited =~ ^[0-9]{1,9}$ ]] || fail "internal: the watcher's queued time is ${waited:0:40}, not whole seconds"
    ((waited > 0)) || return 0
    printf 'queued %d\n' "$waited" >>"$gate_file"
    gate_sync
    if ((gate_total >= GATE_QUEUE_ALLOWANCE_SECONDS && gate_total - waited < GATE_QUEUE_ALLOWANCE_SECONDS)); then
        log "the step has waited ${GATE_QUEUE_ALLOWANCE_SECONDS}s in all at the watcher's gate; more waiting there counts against its deadline"
    fi
}

# gate_gave_up: a call or a lock gave up because the step's deadline left no time for it.
gate_gave_up() { printf 'deadline\n' >>"$gate_file"; }

# gate_report: a command step's last line on stderr, which the stack keeps with its output and the
# engine's events carry (the engine bench reads it: bench/engine/gate-queue.ts): the seconds it
# queued at the watcher's gate in all, its allowance, and whether its deadline was reached (it had
# passed when the step ended, or a call or a lock gave up for it); the engine's events say whether
# the step failed. One fixed form, not a log line (`bootloop-rescue-gate:`, not `bootloop-rescue: `),
# so the reasons read from a failed step's last lines can leave it out. Only command steps (given
# STEP_TIMEOUT_SECONDS) write it; one killed with SIGKILL writes none:
#   bootloop-rescue-gate: queued=S allowance=S deadline=reached|not-reached
gate_report() {
    [[ -n $gate_report_due ]] || return 0
    gate_sync
    local reached=${gate_reached:+reached}
    ((${EPOCHSECONDS:-$(date +%s)} < STEP_DEADLINE)) || reached=reached
    printf 'bootloop-rescue-gate: queued=%d allowance=%d deadline=%s\n' "$gate_total" "$GATE_QUEUE_ALLOWANCE_SECONDS" "${reached:-not-reached}" >&2
}
trap 'gate_report; rm -f "$errfile" "$gate_file"' EXIT

# ---------------------------------------------------------------------------------------------
# The watcher (components/watcher, started as cli/watcher.ts): one process per runner and set of credentials. Steps
# never poll a cloud themselves: they ask it (`wait_for`), and it answers every waiting step of
# the run from batched calls. Every CLI call of a step passes its gate (`cloud_call`), which keeps
# the CLI processes alive at once and each scope's request rate under the cloud's limits. It is
# started by the first step that needs it, under a lock, and stops by itself when idle; a step
# that finds it gone starts it again and sends its request again.
# ---------------------------------------------------------------------------------------------
BOOTLOOP_HOME=${BOOTLOOP_HOME:-$PWD}
# One watcher per credentials and pace: its run folder is named by a hash of what the CLIs
# authenticate with and of what sizes its buckets. Stacks on one runner with different shares of
# the scopes' budgets (BOOTLOOP_RATE_SHARE, the stack's rateShare) get a watcher each, so each
# spends its own share; stacks with the same share share one watcher and so that one share
# between them: never more than the sum of their shares, at worst less.
watch_dir=${BOOTLOOP_WATCH_DIR:-${TMPDIR:-/tmp}/bootloop-rescue-$(id -u)-$(env | grep -E '^(PATH=|HOME=|AWS_|AZURE_|ARM_|CLOUDSDK_|GOOGLE_|POLL_SECONDS=|BOOTLOOP_(TIME_SCALE|RATE_SCALE|RATE_SHARE|MAX_CLI_PROCESSES|WATCHER_IDLE_SECONDS|BLIND_GRACE_SECONDS)=)' | grep -vE '^AWS_(DEFAULT_)?REGION=' | LC_ALL=C sort | cksum | tr -c '0-9\n' '-')}
watch_dir=${watch_dir%-}
watch_port= watch_token=

# watcher_endpoint: reads the running watcher's port and token; 1 when there is none.
watcher_endpoint() {
    [[ -r $watch_dir/endpoint ]] || return 1
    read -r watch_port watch_token <"$watch_dir/endpoint" || return 1
    [[ $watch_port =~ ^[0-9]{1,5}$ && $watch_token =~ ^[0-9a-f]{48}$ ]]
}

# watcher_folder: the watcher's folder exists, is ours and only ours (mode 0700).
watcher_folder() {
    (umask 077 && mkdir -p "$watch_dir")
    [[ -O $watch_dir && ! -L $watch_dir ]] || fail "internal: the watcher folder $watch_dir is not ours; refusing to use it"
    chmod 0700 "$watch_dir"
}

# watcher_lost: the watcher this step talked to went away (killed, crashed, restarted): forget it,
# and its endpoint unless a successor wrote its own there already.
watcher_lost() {
    local named=
    read -r named _ <"$watch_dir/endpoint" 2>/dev/null || true
    [[ -n $watch_port && $named == "$watch_port" ]] && rm -f "$watch_dir/endpoint"
    watch_port=
}

# watcher_start: starts the watcher unless another step is starting it, and waits for it.
watcher_start() {
    watcher_folder
    # A lock left by a starter that died is stale after a minute.
    [[ -d $watch_dir/starting && -n $(find "$watch_dir/starting" -maxdepth 0 -mmin +1 2>/dev/null) ]] && rm -rf "$watch_dir/starting"
    if mkdir "$watch_dir/starting" 2>/dev/null; then
        rm -f "$watch_dir/endpoint"
        (cd "$BOOTLOOP_HOME" && exec nohup node -r ts-node/register/transpile-only cli/watcher.ts "$watch_dir" </dev/null >>"$watch_dir/watcher.log" 2>&1 &)
    fi
    # A loaded runner may take a while to start node; a watcher that died is replaced.
    local tries=0 pid
    until watcher_endpoint; do
        ((++tries < 1800)) || fail "internal: the watcher did not start within 180 s; see $watch_dir/watcher.log"
        if ((tries % 100 == 0)) && [[ ! -d $watch_dir/starting ]]; then
            read -r pid <"$watch_dir/watcher.pid" 2>/dev/null || pid=
            [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || { watcher_start; return; }
        fi
        sleep 0.1
    done
}

# watcher_open FDVAR: a connection to the watcher in the named variable, starting it when needed.
watcher_open() {
    local tries=0
    while :; do
        if watcher_endpoint && exec {watch_fd}<>"/dev/tcp/127.0.0.1/$watch_port"; then
            printf -v "$1" '%s' "$watch_fd"
            return 0
        fi 2>/dev/null
        ((++tries < 5)) || fail "internal: cannot reach the watcher; see $watch_dir/watcher.log"
        # It is gone (crashed, or stopped when idle): the next one takes over.
        [[ -n $watch_port ]] && rm -f "$watch_dir/endpoint"
        watch_port=
        watcher_start
    done
}

# watcher_ask LINE: sends one request and reads its one-line answer into $reply; a watcher lost
# on the way is started again and asked again.
watcher_ask() {
    local fd
    while :; do
        watcher_open fd
        printf '%s\t%s\n' "$watch_token" "$1" >&"$fd"
        if IFS= read -r -u "$fd" reply 2>/dev/null; then
            exec {fd}>&-
            return 0
        fi
        exec {fd}>&-
        log "the watcher went away; asking its successor"
        watcher_lost
    done
}

# Every request names its cloud and scope: each cloud's common.sh sets these.
WATCH_CLOUD=${WATCH_CLOUD:-}
WATCH_SCOPE=${WATCH_SCOPE:-}

# wait_for KIND ID WANT SECONDS [KEY=VALUE ...]: waits through the watcher until the cloud shows
# the object in the wanted state. 0: reached, with what was observed in ${seen[...]}; 1: an
# observation made after SECONDS still showed it unreached (what it showed is in ${seen[...]}).
# A permanent error (the object is gone, access denied) fails the step with the cloud's message.
# Polls that could not be made (throttled, starved) never count against the wait.
declare -A seen
wait_for() {
    local kind=$1 id=$2 want=$3 seconds=$4 extra="" kv
    shift 4
    for kv in "$@"; do extra+=$'\t'"$kv"; done
    [[ $seconds =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "internal: wait_for needs seconds"
    watcher_ask "wait"$'\t'"cloud=$WATCH_CLOUD"$'\t'"kind=$kind"$'\t'"id=$id"$'\t'"want=$want"$'\t'"asked=${EPOCHREALTIME:-$EPOCHSECONDS}"$'\t'"timeout=$seconds$WATCH_SCOPE$extra"
    local parts outcome
    IFS=$'\t' read -r -a parts <<<"$reply"
    outcome=${parts[0]:-}
    seen=()
    for kv in "${parts[@]:1}"; do seen[${kv%%=*}]=${kv#*=}; done
    case $outcome in
        ok) return 0 ;;
        timeout) return 1 ;;
        error) fail "${VM_LABEL:-bootloop-rescue}: ${seen[message]:-the watcher reported an error}" ;;
        *) fail "internal: unexpected answer from the watcher: ${reply:0:200}" ;;
    esac
}

# observe KIND ID [KEY=VALUE ...]: the object's state now (a fresh observation), in ${seen[...]}.
observe() {
    local kind=$1 id=$2
    shift 2
    wait_for "$kind" "$id" any 0 "$@"
}

# local_slot COMMAND...: runs a local helper (node) holding a place at the watcher's gate, which
# bounds the processes alive at once (CLI calls and helpers alike). Never in a pipeline with a
# cloud call feeding it: the helper would hold its place while the call waits for one (with every
# place so held, every step waits for ever). Read into a variable first. A watcher that goes away
# while the step waits is normal: the step asks its successor (until the step's deadline). One
# that goes away while the helper runs changes nothing for it (its successor may let another
# process start meanwhile: a bound on memory, not on correctness).
local_slot() {
    local fd answer rc=0 asked
    while :; do
        watcher_open fd
        asked=${EPOCHSECONDS:-$(date +%s)}
        printf '%s\tslot\n' "$watch_token" >&"$fd" 2>/dev/null || true
        answer=
        IFS= read -r -u "$fd" answer 2>/dev/null || true
        if [[ $answer == go ]]; then
            gate_queued "$asked"
            break
        fi
        exec {fd}>&-
        [[ -z $answer ]] || fail "internal: unexpected answer from the watcher: ${answer:0:200}"
        gate_sync
        ((${EPOCHSECONDS:-$(date +%s)} < STEP_DEADLINE)) || fail "internal: no place at the watcher's gate before the step's deadline; see $watch_dir/watcher.log"
        log "the watcher went away; asking its successor for a place"
        watcher_lost
    done
    if "$@" {fd}>&-; then rc=0; else rc=$?; fi
    exec {fd}>&-
    return "$rc"
}

# with_lock KEY COMMAND...: runs the command holding KEY: one holder at a time among the steps of
# this runner and credentials (e.g. the attaches to one Azure VM, which overwrite each other when
# concurrent). The key is an exclusive flock on a file of the watcher's folder, not a grant of
# the watcher: it outlives any watcher (a restart neither fails the holder nor grants the key to a
# second step), and the kernel gives it back when the holder's process ends, however it ends.
# Waiters are not queued in order. A step still waiting at its deadline fails, doing nothing.
with_lock() {
    local key=$1 file fd rc=0 left
    shift
    watcher_folder
    file=$watch_dir/lock-$(printf '%s' "$key" | cksum | tr -c '0-9\n' '-')
    exec {fd}>>"${file%-}" || fail "internal: cannot open the lock file ${file%-}"
    gate_sync
    left=$((STEP_DEADLINE - ${EPOCHSECONDS:-$(date +%s)}))
    lock_fd "$fd" "$((left > 1 ? left : 1))" || rc=$?
    if ((rc != 0)); then
        exec {fd}>&-
        # Status 1 is the wait's end (flock -w, perl's alarm); anything else is the tool failing.
        ((rc == 1)) || fail "${VM_LABEL:+$VM_LABEL: }could not take the lock $key (the lock tool failed with status $rc, above); nothing done"
        gate_gave_up
        fail "${VM_LABEL:+$VM_LABEL: }another step held the lock $key until this step's deadline; nothing done"
    fi
    if "$@" {fd}>&-; then rc=0; else rc=$?; fi
    exec {fd}>&-
    return "$rc"
}

# lock_fd FD SECONDS: takes an exclusive flock on the file open as FD, waiting at most SECONDS
# (status 1 when it could not). The lock belongs to the open file, so it stays with FD after the
# helper ends: util-linux's flock, else perl's (macOS), else busybox's (Alpine: it has no
# timeout, so there the step's own timeout ends a wait).
lock_fd() {
    if [[ $(flock --version 2>/dev/null) == *util-linux* ]]; then
        flock -x -w "$2" "$1"
    elif command -v perl >/dev/null; then
        lock_fd_perl "$@"
    elif command -v flock >/dev/null; then
        flock -x "$1"
    else
        fail "internal: with_lock needs flock (util-linux or busybox) or perl, and this machine has neither"
    fi
}
lock_fd_perl() {
    perl -MFcntl=:flock -e 'open(my $f, ">>&=", $ARGV[0]) or die "lock: $!\n"; $SIG{ALRM} = sub { exit 1 }; alarm $ARGV[1]; flock($f, LOCK_EX) or die "lock: $!\n"' "$1" "$2"
}

# watcher_gone OP: the watcher went away mid-call. Forgets it (its successor is asked next, after
# a short backoff that grows with watcher_losses, which the call resets at its start), or returns 1
# with the reason logged once the step's deadline has passed or watchers kept vanishing (20 in one
# call: a watcher that dies on every call must not be restarted for an hour).
watcher_gone() {
    watcher_losses=$((watcher_losses + 1))
    gate_sync
    if ((${EPOCHSECONDS:-$(date +%s)} >= STEP_DEADLINE)); then
        log "$1: the watcher went away and the step's deadline has passed; see $watch_dir/watcher.log"
        return 1
    fi
    if ((watcher_losses > 20)); then
        log "$1: the watcher went away $watcher_losses times during this call; see $watch_dir/watcher.log"
        return 1
    fi
    watcher_lost
    sleep "$((watcher_losses < 5 ? watcher_losses : 5))"
}

# retry_logged OP ATTEMPT DELAY [ERROR]: logs that try ATTEMPT of the call OP was throttled or busy
# and is tried again in DELAY seconds; with ERROR (the watcher's, when it made the call; may be
# empty) after it. One line for both of cloud_call's paths.
retry_logged() {
    log "$1 was throttled or busy (try $2); retrying in ${3}s${4+: $4}"
}

# cloud_call OP COMMAND...: one CLI call of the step (OP names it for the rate limits, e.g.
# "ec2 start-instances"). It starts when the watcher's gate admits it; throttling, conflicts,
# CLI locks and transient 5xx are retried with jittered exponential backoff until the step's
# deadline; a permanent error fails at once with the cloud's message (a failed try that the
# watcher could not judge, gone meanwhile, is tried again through its successor). Stdout is
# passed through. The call is sent along with the request (as data, never code): a call of a
# shape the cloud's watcher knows, it makes itself as requests of the cloud's API (components/
# <cloud>/actions.ts: no CLI process), answering with what the call prints; any other call the
# step runs as the CLI. A call the watcher made whose answer was lost with the watcher is asked
# again of its successor: the scripts' calls are made idempotent by what they check first.
cloud_call() {
    local op=$1 attempt=1 out fd answer asked call="" a i=0 kv part lost=""
    shift
    # The call as data: each argument a field. One the line cannot carry (a tab, a newline) or a
    # call too long for it is not sent: the step then runs the CLI.
    call=$'\t'"command=$1"
    for a in "${@:2}"; do
        if [[ $a == *[$'\t\r\n']* ]] || ((${#call} + ${#a} > 16000)); then call=; break; fi
        call+=$'\t'"a$i=$a"
        i=$((i + 1))
    done
    [[ -n $call ]] && call+=$'\t'"argc=$i"
    watcher_losses=0
    while :; do
        watcher_open fd
        # The deadline as the step's other shells moved it (their calls' queuing).
        gate_sync
        asked=${EPOCHSECONDS:-$(date +%s)}
        printf '%s\tcall\tcloud=%s\top=%s\tattempt=%s\tdeadline=%s%s%s\n' "$watch_token" "$WATCH_CLOUD" "$op" "$attempt" "$STEP_DEADLINE" "$WATCH_SCOPE" "$call$lost" >&"$fd"
        answer=
        if ! IFS= read -r -u "$fd" answer 2>/dev/null; then
            # No answer: the watcher went away. Its successor decides; never past the deadline. It
            # may have been making the call itself: its successor is told so (it makes again only
            # a call that changes nothing more when made twice).
            exec {fd}>&-
            [[ -n $call ]] && lost=$'\t'"lost=1"
            watcher_gone "$op" || return 1
            continue
        fi
        if [[ $answer == api$'\t'* ]]; then
            # The watcher made the call as requests of the cloud's API: its answer is the call's.
            exec {fd}>&-
            local -A made=()
            IFS=$'\t' read -r -a part <<<"${answer#api$'\t'}"
            for kv in "${part[@]}"; do made[${kv%%=*}]=${kv#*=}; done
            gate_add_queued "${made[queued]:-0}"
            if [[ ${made[code]:-} == 0 ]]; then
                printf '%s' "${made[out]:-}"
                return 0
            fi
            if [[ -n ${made[retry]:-} ]]; then
                retry_logged "$op" "$attempt" "${made[retry]}" "${made[error]:-}"
                sleep "${made[retry]}"
                attempt=$((attempt + 1))
                continue
            fi
            [[ ${made[reason]:-} == *"deadline leaves no time"* ]] && gate_gave_up
            log "$op failed: ${made[error]:-the watcher gave no reason}"
            return 1
        fi
        if [[ $answer != go ]]; then
            # A watcher that answers and says no (an unknown cloud, a scope it cannot place) is
            # not a lost one: asking its successor would only start watcher after watcher.
            exec {fd}>&-
            log "$op was refused by the watcher: $(tr '\t' ' ' <<<"${answer:0:300}")"
            return 1
        fi
        gate_queued "$asked"
        if out=$("$@" 2>"$errfile" {fd}>&-); then
            printf 'done\tcode=0\n' >&"$fd" 2>/dev/null || true
            exec {fd}>&-
            printf '%s' "$out"
            return 0
        fi
        printf 'done\tcode=1\tdeadline=%s\terror=%s\n' "$STEP_DEADLINE" "$(tr '\t\r\n' '   ' <"$errfile" | head -c 4000)" >&"$fd" 2>/dev/null || true
        answer=
        IFS= read -r -u "$fd" answer 2>/dev/null || true
        exec {fd}>&-
        if [[ $answer == retry$'\t'delay=* ]]; then
            retry_logged "$op" "$attempt" "${answer#*delay=}"
            sleep "${answer#*delay=}"
            attempt=$((attempt + 1))
            continue
        fi
        if [[ -z $answer ]]; then
            # The watcher went away before judging the error: its successor judges the next try.
            log "$op failed (try $attempt) and the watcher went away; trying again through its successor"
            watcher_gone "$op" || return 1
            attempt=$((attempt + 1))
            continue
        fi
        # The watcher gave up on a transient error because the deadline left no time for another try.
        if [[ $answer == *"deadline leaves no time"* ]]; then gate_gave_up; fi
        log "$op failed: $(tr '\n' ' ' <"$errfile")"
        return 1
    done
}

# jq_node EXPRESSION: evaluates a fixed JavaScript expression over the JSON on stdin (as `o`;
# empty or blank input is null), printing strings raw and anything else as JSON. Values it needs
# come from process.env. A node process costs about as much memory as a CLI call, so it takes a
# place at the watcher's gate, but only once its input has ended: fed by a pipeline
# (`cloud_call … | jq_node …`), a helper holding a place while the call feeding it waits for one
# would wait for ever, and with every place so held every step of the runner waits for ever (the
# 300-VM sandbox run's restore-point lookups did).
jq_node() {
    local input
    input=$(cat)
    local_slot node -e '
        const o = JSON.parse(require("fs").readFileSync(0, "utf8").trim() || "null");
        const v = (0, eval)("(o) => (" + process.argv[1] + ")")(o);
        process.stdout.write(v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
    ' "$1" <<<"$input"
}

# json_str VAR TEXT: VAR becomes TEXT as a JSON string (quotes included), without a subprocess.
json_str() {
    local s=$2
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    # Any other control character (a disk's text may hold escapes) is not valid in a JSON string.
    s=${s//[[:cntrl:]]/ }
    printf -v "$1" '"%s"' "$s"
}

# swap_report STATUS ALREADY [FIELD=VARIABLE ...]: every swap's one JSON report on stdout: status,
# alreadyRecovered, the named fields (each the value of an environment variable), reason and
# nextStep when the VM failed (vm_failed), and the timings from stop_s, swap_s, boot_s and the
# seconds since $started. Pure bash: a thousand steps ending at once start no process.
swap_report() {
    local status=$1 already=$2 f name value out
    shift 2
    json_str value "$status"
    out="{\"status\":$value,\"alreadyRecovered\":$([[ $already == true ]] && printf true || printf false)"
    for f in "$@"; do
        json_str name "${f%%=*}"
        local var=${f#*=}
        json_str value "${!var:-}"
        out+=",$name:$value"
    done
    if [[ -n ${failed_reason:-} ]]; then
        json_str value "$failed_reason"
        out+=",\"reason\":$value"
        json_str value "${failed_next:-}"
        out+=",\"nextStep\":$value"
    fi
    out+=",\"timings\":{\"stopSeconds\":$((${stop_s:-0})),\"swapSeconds\":$((${swap_s:-0})),\"bootSeconds\":$((${boot_s:-0})),\"totalSeconds\":$((SECONDS - ${started:-0}))}}"
    printf '%s' "$out"
}

# after_reboot_recovered: strategy reboot-then-repair, and its reboot step brought the VM back
# (REBOOT_STATUS comes from that step's report). The repair and the swap then do nothing.
after_reboot_recovered() {
    [[ -z ${REBOOT_STATUS:-} ]] && return 1
    expect REBOOT_STATUS '^(recovered|not-recovered)$'
    [[ $REBOOT_STATUS == recovered ]]
}

# vm_failed REASON NEXT_STEP: the VM cannot be recovered for a reason of its own (its fixed disk
# does not boot, its repair found nothing it may change, its disk is hostile): that is its outcome,
# not an error of the run. Logs it, reports status failed with the reason and what a person does
# next through the script's `report`, and exits 0, so its lane's next chain and the rest of the
# wave go on; the next wave's gate counts it against the wave's failure budget. Errors that are
# not the VM's own (access denied, a quota, an invalid parameter) still `fail` the step.
vm_failed() {
    failed_reason=$1
    failed_next=$2
    log "${VM_LABEL:+$VM_LABEL: }FAILED: $failed_reason; next: $failed_next"
    report failed false
    exit 0
}

# repair_failed: the swap's repair failed for a reason of the VM's own (REPAIR_FAILED, the reason,
# and REPAIR_NEXT_STEP, from core, which read the repair's evidence; clouds whose swap reads the
# evidence back set them themselves): nothing to swap. Reports failed and exits, calling nothing.
repair_failed() {
    [[ -z ${REPAIR_FAILED:-} ]] && return 0
    vm_failed "$REPAIR_FAILED" "${REPAIR_NEXT_STEP:-read the evidence (npm run evidence)}"
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
    refuse_in_teardown repair
}

# swap_preamble: after a reboot that recovered the VM, there is nothing to swap: reports
# recovered-by-reboot through the swap script's `report` and exits, calling nothing; after a repair
# that failed for a reason of the VM's own, reports failed (repair_failed). In teardown
# (the swap is not in the stack's state, so it never finished): fails, calling nothing; teardown
# never stops or swaps a VM.
swap_preamble() {
    if after_reboot_recovered; then
        log "$VM_LABEL: recovered by its reboot step; nothing to swap"
        report recovered-by-reboot true
        exit 0
    fi
    repair_failed
    refuse_in_teardown swap
}

# refuse_in_teardown STEP: a step that changes the VM and runs in teardown never finished before;
# teardown does not finish it (a person may have recovered or rolled back the VM since).
refuse_in_teardown() {
    if [[ ${BOOTLOOP_TEARDOWN:-} == 1 ]]; then
        fail "$VM_LABEL: teardown found no finished $1 for this VM in the stack, and teardown never stops, restarts or swaps a VM; run without teardown until its chain completes (or roll it back), or remove it from the inventory (a retry: changed since its last update names another attempt: put it back as it was)"
    fi
}

# reboot_until_healthy: the reboot strategies' loop, the same on every cloud. The cloud's script
# defines vm_healthy_within SECONDS (0 when the VM shows a real boot signal within that time,
# through the watcher) and vm_restart (one restart), and may redefine vm_already_healthy (0 when
# the VM needs no restart at all). Needs MAX_REBOOTS, REBOOT_TIMEOUT_SECONDS, MUST_RECOVER and
# VM_LABEL. Stops at the first healthy boot. Prints one JSON report: status recovered or
# not-recovered, attempts, timings. Changes no disk.
vm_already_healthy() { vm_healthy_within 0; }
reboot_until_healthy() {
    refuse_in_teardown reboot
    expect MAX_REBOOTS '^[0-9]{1,3}$'
    expect REBOOT_TIMEOUT_SECONDS '^[0-9]{1,6}(\.[0-9]+)?$'
    expect MUST_RECOVER '^(true|false)$'
    started=$SECONDS
    local attempt=0
    if vm_already_healthy; then
        log "$VM_LABEL: boots healthy already; no restart needed"
        reboot_report recovered 0
        return 0
    fi
    # One short line per restart (the stack's state keeps the log; Pulumi shows it under the step,
    # so the lines between the first and the last need not repeat the VM's label): a restart line
    # means the one before it brought no boot signal within the timeout.
    log "$VM_LABEL: no healthy boot; up to $MAX_REBOOTS restarts, each given $REBOOT_TIMEOUT_SECONDS s to show a boot signal"
    while ((attempt < MAX_REBOOTS)); do
        attempt=$((attempt + 1))
        log "restart $attempt of $MAX_REBOOTS"
        vm_restart
        if vm_healthy_within "$REBOOT_TIMEOUT_SECONDS"; then
            log "$VM_LABEL: booted healthy after restart $attempt"
            reboot_report recovered "$attempt"
            return 0
        fi
    done
    if [[ $MUST_RECOVER == true ]]; then
        # The VM's own outcome: reported, and the fleet goes on (see vm_failed).
        log "$VM_LABEL: FAILED: no healthy boot after $MAX_REBOOTS restarts; its disks are untouched"
        reboot_report failed "$attempt" "no healthy boot after $MAX_REBOOTS restarts" \
            "recover it with strategy reboot-then-repair, repair or restore; its disks are untouched"
        return 0
    fi
    log "$VM_LABEL: no healthy boot after $MAX_REBOOTS restarts; the repair chain follows"
    reboot_report not-recovered "$attempt"
}

# reboot_report STATUS ATTEMPTS [REASON NEXT_STEP]: the reboot step's one JSON report on stdout
# (reason and nextStep when the VM failed).
reboot_report() {
    local status why=""
    json_str status "$1"
    if (($# > 2)); then
        local reason next
        json_str reason "$3"
        json_str next "$4"
        why=",\"reason\":$reason,\"nextStep\":$next"
    fi
    printf '{"status":%s,"attempts":%d%s,"timings":{"totalSeconds":%d}}' "$status" "$2" "$why" "$((SECONDS - ${started:-0}))"
}

# rollback_done STATUS STARTED_NOW PLACE: the VM runs on its original disk (PLACE says so, e.g.
# "runs on its original root volume vol-…"), started just now when STARTED_NOW is true: logs and
# reports rolled-back (it was swapped before; the disk REPLACED names stays, detached) or
# not-swapped, and exits. Only a VM that is running (or was just started) ends here. (Its locals
# must not shadow `started`, the step's start time the report's timings count from.)
rollback_done() {
    local status=$1 started_now=$2 place=$3 message
    if [[ $status == rolled-back ]]; then
        message=$place
        [[ $started_now == true ]] && message+=" again: it was rolled back but not running, and is started now" || message+=" already (rolled back before); nothing to do"
        message+="${REPLACED:+; ${REPLACED##*/} is kept, detached}"
    else
        message="was never swapped: $place"
        [[ $started_now == true ]] && message+=" (it was not running, and is started now)" || message+="; nothing to do"
    fi
    log "$VM_LABEL: $message"
    rollback_report "$status" "$message" "$REPLACED"
    exit 0
}

# rollback_report STATUS MESSAGE REPLACED: the rollback step's one JSON report on stdout, with the
# timings from stop_s, swap_s, boot_s (the start) and the seconds since $started.
rollback_report() {
    MESSAGE=$2 REPLACED=$3 swap_report "$1" false message=MESSAGE replacedDiskId=REPLACED
}
