#!/usr/bin/env bash
# Runs a command in a cgroup of its own and prints what everything it started spent: CPU seconds
# (user + system, every process, detached ones included) and peak memory, plus wall time. For
# sandbox figures: the engine, the program, the providers, the step scripts, the watcher and the
# stand-in CLIs all count, as they would on a runner.
#
# Usage: bash scripts/sandbox/measure.sh COMMAND [ARGS...]   (root: cgroups are written)
# Prints one line to stderr after the command: `measured: wall=S cpu=S peak_mb=N exit=C`, and exits
# with the command's code. Without a writable cgroup it says so and exits 2: never a figure it
# did not take. With MEASURE_BY_PROCESS=FILE it also writes to FILE, and prints after that line,
# the CPU each kind of process spent (cpu-by-process.sh: the engine, the program, the providers,
# the watcher...), and how much of the total no sampled process accounts for; when the sampler
# could not take them (it wrote no FILE, or ended in error) it says they were not measured, with
# the sampler's reason, and exits 2.
set -euo pipefail
(($# > 0)) || { echo "usage: bash scripts/sandbox/measure.sh COMMAND [ARGS...]" >&2; exit 2; }
name="bootloop-measure-$$"
source "$(dirname "${BASH_SOURCE[0]}")/cgroup-lib.sh"
sampler="" sampler_said=""
# On a way out without figures: the sampler is ended and what it wrote removed (no figures of a
# run that was not measured), and the file of what it said too.
stop_sampler() {
    [[ -z $sampler_said ]] || rm -f "$sampler_said"
    [[ -n $sampler ]] || return 0
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    rm -f "$MEASURE_BY_PROCESS"
}
if [[ -w /sys/fs/cgroup/cpuacct && -w /sys/fs/cgroup/memory ]]; then
    cpu=/sys/fs/cgroup/cpuacct/$name mem=/sys/fs/cgroup/memory/$name
    mkdir "$cpu" "$mem"
    trap 'stop_sampler; remove_cgroups "$cpu" "$mem"' EXIT
    [[ -r $cpu/cpuacct.usage && -r $mem/memory.max_usage_in_bytes ]] || { echo "measure: the cgroup has no cpuacct.usage or memory.max_usage_in_bytes: not measured" >&2; exit 2; }
    procs() { cat "$cpu/cgroup.procs"; }
    enter() { echo "$BASHPID" >"$cpu/cgroup.procs" && echo "$BASHPID" >"$mem/cgroup.procs"; }
    cpu_ns() { cat "$cpu/cpuacct.usage"; }
    peak_bytes() { cat "$mem/memory.max_usage_in_bytes"; }
elif [[ -f /sys/fs/cgroup/cgroup.controllers && -w /sys/fs/cgroup ]]; then
    grp=/sys/fs/cgroup/$name
    mkdir "$grp"
    trap 'stop_sampler; remove_cgroups "$grp"' EXIT
    [[ -r $grp/cpu.stat && -r $grp/memory.peak ]] || { echo "measure: the cgroup has no cpu.stat or memory.peak (memory controller off, or a kernel before 5.19): not measured" >&2; exit 2; }
    procs() { cat "$grp/cgroup.procs"; }
    enter() { echo "$BASHPID" >"$grp/cgroup.procs"; }
    cpu_ns() { echo $(($(sed -n 's/^usage_usec //p' "$grp/cpu.stat") * 1000)); }
    peak_bytes() { cat "$grp/memory.peak"; }
else
    echo "measure: no writable cgroup (v1 cpuacct and memory, or v2) here: not measured" >&2
    exit 2
fi
if [[ -n ${MEASURE_BY_PROCESS:-} ]]; then
    rm -f "$MEASURE_BY_PROCESS"
    # What the sampler says (why it took no figures) is kept for the line that reports them.
    sampler_said=$(mktemp)
    bash "$(dirname "${BASH_SOURCE[0]}")/cpu-by-process.sh" "${cpu:-${grp:-}}/cgroup.procs" "$MEASURE_BY_PROCESS" 2>"$sampler_said" &
    sampler=$!
fi
start=$(date +%s.%N)
set +e
(enter || { echo "measure: could not move the command into the cgroup: not measured" >&2; exit 125; }; exec "$@")
code=$?
set -e
end=$(date +%s.%N)
((code != 125)) || exit 2
# Wait for what the command left running (a detached provider) before reading the totals; what
# still runs after that would make the figures partial, so none is printed, and it is ended.
for _ in $(seq 100); do
    [[ -z $(procs) ]] && break
    sleep 0.1
done
if [[ -n $(procs) ]]; then
    echo "measure: processes the command started still run ($(procs | tr '\n' ' ')): not measured; they are ended" >&2
    # Nothing is left behind: end them, so that the cgroup can be removed on exit.
    for _ in $(seq 50); do
        left=$(procs)
        [[ -z $left ]] && break
        kill -KILL $left 2>/dev/null || true
        sleep 0.1
    done
    exit 2
fi
used=$(cpu_ns) peak=$(peak_bytes)
awk -v s="$start" -v e="$end" -v c="$used" -v p="$peak" -v x="$code" \
    'BEGIN { printf "measured: wall=%.1f cpu=%.1f peak_mb=%d exit=%d\n", e - s, c / 1e9, p / 1048576, x }' >&2
if [[ -n $sampler ]]; then
    # The cgroup is empty (above): the sampler is told to write what it saw (a command shorter than
    # its first second may have given it nothing to see); a figure it could not write is said to
    # be missing, never left out quietly.
    kill -TERM "$sampler" 2>/dev/null || true
    sampled=0
    wait "$sampler" || sampled=$?
    sampler=""
    said=$(head -c 2000 "$sampler_said" | tr '\n' ' ')
    said=${said% }
    # A sampler that ended in error took no figures, whatever it left.
    ((sampled == 0)) || rm -f "$MEASURE_BY_PROCESS"
    if [[ -f $MEASURE_BY_PROCESS ]]; then
        [[ -z $said ]] || echo "measured by process: the sampler said: $said" >&2
        # Empty when every process was shorter than the first sample: all of it unattributed.
        awk -F '\t' -v c="$used" '{ printf "measured by process: %8.1f s  %s (%d), its children %.1f s\n", $1, $3, $4, $2; a += $1 }
            END { printf "measured by process: %8.1f s  (in processes shorter than a second, or their last second)\n", c / 1e9 - a }' \
            "$MEASURE_BY_PROCESS" >&2
    else
        echo "measured by process: not measured (the sampler wrote no $MEASURE_BY_PROCESS; exit $sampled: ${said:-it said nothing})" >&2
        exit 2
    fi
fi
exit "$code"
