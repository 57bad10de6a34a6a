#!/usr/bin/env bash
# Runs a command in a cgroup sized like a CI runner (a CPU quota and a memory limit) and writes what
# everything it started spent: CPU seconds (user + system, every process, detached ones included),
# peak memory, whether the memory limit killed a process (OOM), how often the CPU quota throttled
# it, and wall time. measure.sh's sibling, with limits: for the engine bench (bench/engine/).
#
# Usage: bash scripts/sandbox/runner-cgroup.sh --cpus N --memory-mb M --report FILE -- COMMAND [ARGS...]
#   (root: cgroups are written). cgroup v1 (cpu: cpu.cfs_quota_us/cpu.cfs_period_us; cpuacct.usage;
#   memory: memory.limit_in_bytes, memory.max_usage_in_bytes, memory.oom_control's oom_kill) or v2
#   (cpu.max, memory.max; cpu.stat, memory.peak, memory.events' oom_kill).
# Writes FILE (one JSON object) once the command and everything it started ended, and exits with the
# command's code. Exits 4 with no FILE when it cannot measure: no writable cgroup with those files,
# a runner larger than this machine (more CPUs or memory than it has), or processes of the command
# still running after it ended (they are ended: nothing is left behind). Never a figure it did not take.
set -euo pipefail
usage() {
    echo "usage: bash scripts/sandbox/runner-cgroup.sh --cpus N --memory-mb M --report FILE -- COMMAND [ARGS...]" >&2
    exit 2
}
cpus= memory_mb= report=
while (($# > 0)); do
    case $1 in
        --cpus) cpus=${2:-}; shift 2 || usage ;;
        --memory-mb) memory_mb=${2:-}; shift 2 || usage ;;
        --report) report=${2:-}; shift 2 || usage ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
[[ $cpus =~ ^[1-9][0-9]{0,2}$ && $memory_mb =~ ^[1-9][0-9]{1,7}$ && -n $report ]] || usage
(($# > 0)) || usage
cannot() {
    echo "runner-cgroup: $*: not measured" >&2
    exit 4
}
have_cpus=$(nproc --all)
((cpus <= have_cpus)) || cannot "a runner of $cpus CPUs is larger than this machine ($have_cpus CPUs): its figures cannot be taken here"
have_mb=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))
((memory_mb <= have_mb)) || cannot "a runner of $memory_mb MB is larger than this machine ($have_mb MB): its figures cannot be taken here"

name="bootloop-runner-$$"
period=100000
dirs=()
source "$(dirname "${BASH_SOURCE[0]}")/cgroup-lib.sh"
cleanup() { remove_cgroups "${dirs[@]}"; }
trap cleanup EXIT
# v1: the cpu and cpuacct controllers may share one hierarchy (cpu,cpuacct) or not.
v1_cpu=$(realpath -e /sys/fs/cgroup/cpu 2>/dev/null || true)
v1_acct=$(realpath -e /sys/fs/cgroup/cpuacct 2>/dev/null || true)
v1_mem=$(realpath -e /sys/fs/cgroup/memory 2>/dev/null || true)
if [[ -n $v1_cpu && -n $v1_acct && -n $v1_mem && -w $v1_cpu && -w $v1_acct && -w $v1_mem ]]; then
    kind=v1
    cpu=$v1_cpu/$name acct=$v1_acct/$name mem=$v1_mem/$name
    # One folder per hierarchy (cpu and cpuacct may be one); one left by an earlier run is not reused.
    for d in $(printf '%s\n' "$cpu" "$acct" "$mem" | sort -u); do
        mkdir "$d" || cannot "the cgroup $d could not be made (left by an earlier run?)"
        dirs+=("$d")
    done
    [[ -w $cpu/cpu.cfs_quota_us && -w $cpu/cpu.cfs_period_us && -r $acct/cpuacct.usage && -w $mem/memory.limit_in_bytes && -r $mem/memory.max_usage_in_bytes && -r $mem/memory.oom_control ]] ||
        cannot "the v1 cgroup has no cpu.cfs_quota_us, cpuacct.usage, memory.limit_in_bytes, memory.max_usage_in_bytes or memory.oom_control"
    echo "$period" >"$cpu/cpu.cfs_period_us"
    echo $((cpus * period)) >"$cpu/cpu.cfs_quota_us"
    echo $((memory_mb * 1024 * 1024)) >"$mem/memory.limit_in_bytes"
    # With swap, the limit would only move memory to it: the runner's memory is RAM and swap together.
    if [[ -w $mem/memory.memsw.limit_in_bytes ]]; then echo $((memory_mb * 1024 * 1024)) >"$mem/memory.memsw.limit_in_bytes"; fi
    procs() { cat "$cpu/cgroup.procs" "$acct/cgroup.procs" "$mem/cgroup.procs" | sort -u; }
    enter() { for d in "$cpu" "$acct" "$mem"; do echo "$BASHPID" >"$d/cgroup.procs" || return 1; done; }
    cpu_ns() { cat "$acct/cpuacct.usage"; }
    peak_bytes() { cat "$mem/memory.max_usage_in_bytes"; }
    oom_kills() { sed -n 's/^oom_kill //p' "$mem/memory.oom_control" | grep . || echo 0; }
    throttled() { sed -n 's/^nr_throttled //p' "$cpu/cpu.stat"; }
elif [[ -f /sys/fs/cgroup/cgroup.controllers && -w /sys/fs/cgroup ]]; then
    kind=v2
    grp=/sys/fs/cgroup/$name
    mkdir "$grp" || cannot "the cgroup $grp could not be made (left by an earlier run?)"
    dirs+=("$grp")
    [[ -w $grp/cpu.max && -w $grp/memory.max && -r $grp/cpu.stat && -r $grp/memory.peak && -r $grp/memory.events ]] ||
        cannot "the v2 cgroup has no cpu.max, memory.max, cpu.stat, memory.peak or memory.events (cpu or memory controller off, or a kernel before 5.19)"
    echo "$((cpus * period)) $period" >"$grp/cpu.max"
    echo $((memory_mb * 1024 * 1024)) >"$grp/memory.max"
    if [[ -w $grp/memory.swap.max ]]; then echo 0 >"$grp/memory.swap.max"; fi
    procs() { cat "$grp/cgroup.procs"; }
    enter() { echo "$BASHPID" >"$grp/cgroup.procs"; }
    cpu_ns() { echo $(($(sed -n 's/^usage_usec //p' "$grp/cpu.stat") * 1000)); }
    peak_bytes() { cat "$grp/memory.peak"; }
    oom_kills() { sed -n 's/^oom_kill //p' "$grp/memory.events"; }
    throttled() { sed -n 's/^nr_throttled //p' "$grp/cpu.stat"; }
else
    cannot "no writable cgroup (v1 cpu, cpuacct and memory, or v2) here"
fi

# A Ctrl-C or a kill of this script ends what runs in the cgroup too (by process id), then cleans up.
stop_all() {
    local pid
    for pid in $(procs); do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 2
    for pid in $(procs); do kill -KILL "$pid" 2>/dev/null || true; done
}
trap 'stop_all; cleanup; exit 130' INT TERM

start=$(date +%s.%N)
set +e
(enter || { echo "runner-cgroup: could not move the command into the cgroup: not measured" >&2; exit 125; }; exec "$@")
code=$?
set -e
end=$(date +%s.%N)
((code != 125)) || exit 4
# Wait for what the command left running (a detached provider) before reading the totals.
for _ in $(seq 100); do
    [[ -z $(procs) ]] && break
    sleep 0.1
done
if [[ -n $(procs) ]]; then
    left=$(procs | tr '\n' ' ')
    stop_all
    cannot "processes the command started still ran after it ended ($left; ended now)"
fi
used=$(cpu_ns) peak=$(peak_bytes) ooms=$(oom_kills) thr=$(throttled)
awk -v s="$start" -v e="$end" -v c="$used" -v p="$peak" -v x="$code" -v o="${ooms:-0}" -v t="${thr:-0}" \
    -v k="$kind" -v n="$cpus" -v m="$memory_mb" \
    'BEGIN { printf "{\"cgroup\":\"%s\",\"cpus\":%d,\"memoryMb\":%d,\"wallSeconds\":%.1f,\"cpuSeconds\":%.1f,\"peakMb\":%d,\"oomKills\":%d,\"throttledPeriods\":%d,\"exit\":%d}\n", k, n, m, e - s, c / 1e9, p / 1048576, o, t, x }' >"$report"
exit "$code"
