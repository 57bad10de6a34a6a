#!/usr/bin/env bash
# Runs a command in a cgroup of its own and prints what everything it started spent: CPU seconds
# (user + system, every process, detached ones included) and peak memory, plus wall time. For
# sandbox figures: the engine, the program, the providers, the step scripts, the watcher and the
# stand-in CLIs all count, as they would on a runner.
#
# Usage: bash scripts/sandbox/measure.sh COMMAND [ARGS...]   (root: cgroups are written)
# Prints one line to stderr after the command: `measured: wall=S cpu=S peak_mb=N exit=C`, and exits
# with the command's code. Without a writable cgroup it says so and exits 2: never a figure it
# did not take.
set -euo pipefail
(($# > 0)) || { echo "usage: bash scripts/sandbox/measure.sh COMMAND [ARGS...]" >&2; exit 2; }
name="bootloop-measure-$$"
if [[ -w /sys/fs/cgroup/cpuacct && -w /sys/fs/cgroup/memory ]]; then
    cpu=/sys/fs/cgroup/cpuacct/$name mem=/sys/fs/cgroup/memory/$name
    mkdir "$cpu" "$mem"
    trap 'rmdir "$cpu" "$mem" 2>/dev/null || true' EXIT
    enter() { echo "$BASHPID" >"$cpu/cgroup.procs" && echo "$BASHPID" >"$mem/cgroup.procs"; }
    cpu_ns() { cat "$cpu/cpuacct.usage"; }
    peak_bytes() { cat "$mem/memory.max_usage_in_bytes"; }
elif [[ -f /sys/fs/cgroup/cgroup.controllers && -w /sys/fs/cgroup ]]; then
    grp=/sys/fs/cgroup/$name
    mkdir "$grp"
    trap 'rmdir "$grp" 2>/dev/null || true' EXIT
    enter() { echo "$BASHPID" >"$grp/cgroup.procs"; }
    cpu_ns() { echo $(($(sed -n 's/^usage_usec //p' "$grp/cpu.stat") * 1000)); }
    peak_bytes() { cat "$grp/memory.peak"; }
else
    echo "measure: no writable cgroup (v1 cpuacct and memory, or v2) here: not measured" >&2
    exit 2
fi
start=$(date +%s.%N)
set +e
(enter && exec "$@")
code=$?
set -e
end=$(date +%s.%N)
# Wait for what the command left running (a detached provider) before reading the totals.
for _ in $(seq 50); do
    if [[ -n ${cpu:-} ]]; then [[ -z $(cat "$cpu/cgroup.procs") ]] && break; else [[ -z $(cat "$grp/cgroup.procs") ]] && break; fi
    sleep 0.1
done
awk -v s="$start" -v e="$end" -v c="$(cpu_ns)" -v p="$(peak_bytes)" -v x="$code" \
    'BEGIN { printf "measured: wall=%.1f cpu=%.1f peak_mb=%d exit=%d\n", e - s, c / 1e9, p / 1048576, x }' >&2
exit "$code"
