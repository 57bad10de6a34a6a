#!/usr/bin/env bash
# Samples the processes of a cgroup once a second and, when told to stop (SIGTERM) or when the
# cgroup has had processes and has none left, writes the CPU each kind of process spent to OUT:
# one line per kind, `SECONDS<TAB>CHILDREN_SECONDS<TAB>KIND<TAB>PROCESSES`, largest first. A kind is what a process
# runs: the program's file name (`pulumi`, `pulumi-resource-aws`), or for node, python and bash
# the script they run (`node front.js`), so that a figure can say how much of a run was the engine
# and how much the program, the providers, the watcher or the step scripts.
#
# Usage: bash scripts/sandbox/cpu-by-process.sh CGROUP_PROCS_FILE OUT
#
# A process's CPU is its own (user + system of all its threads, /proc/PID/stat), as last seen
# alive: what it spent in its last second, and every process shorter than a second, is not
# attributed. measure.sh prints the attributed part beside the cgroup's total, so the rest shows.
# CHILDREN_SECONDS is what the children it had reaped when last seen spent (/proc/PID/stat's
# cutime and cstime): where the short processes' CPU went (the stand-in CLI calls the API front
# runs, a step script's CLI calls). It overlaps the other lines (a child sampled alive is counted
# under its own kind too), so it is not added to the total.
# It runs outside the cgroup it samples: its own CPU is not in the figures.
# When it cannot read the cgroup's process list (at its start or at any sample), or cannot write
# OUT, it says why on stderr, writes no OUT and exits 1: the per-process figures were not
# measured, and an empty OUT (all of the CPU unattributed) would say otherwise.
set -euo pipefail
(($# == 2)) || { echo "usage: bash scripts/sandbox/cpu-by-process.sh CGROUP_PROCS_FILE OUT" >&2; exit 2; }
procs_file=$1 out=$2

# Says why the figures were not measured, leaves no OUT (nor its temporary files), exits 1.
not_measured() {
    echo "cpu-by-process: $1: not measured" >&2
    rm -f "$out.tmp" "$out.sorted"
    exit 1
}
# Ends the sampler (not_measured) unless the process list can be opened for reading now.
check_procs_file() {
    if [[ ! -e $procs_file ]]; then
        not_measured "the cgroup's process list $procs_file does not exist"
    elif [[ ! -f $procs_file ]]; then
        not_measured "the cgroup's process list $procs_file is not a file"
    elif [[ ! -r $procs_file ]] || ! { : <"$procs_file"; } 2>/dev/null; then
        not_measured "the cgroup's process list $procs_file cannot be read"
    fi
}
out_dir=$(dirname -- "$out")
[[ -d $out_dir && -w $out_dir ]] || not_measured "cannot write $out: its folder $out_dir does not exist or is not writable"
check_procs_file
hz=$(getconf CLK_TCK)
# Per process, keyed by pid and start time (a pid is reused within a long run): its kind, its
# name when that kind was read (a process that execs another program is read again: the watcher
# starts as `nohup`), its own CPU and its reaped children's, in clock ticks.
declare -A kind_of comm_of ticks_of cticks_of
seen_any=0 stop=0 KIND=""
trap 'stop=1' TERM INT

# Sets KIND to the kind of process PID: its program, or the script an interpreter runs (`node -e`
# for code given on the command line, `python3 -m MODULE` for a module), on one line; "?" when it
# is gone. No subshell: it runs for every new process.
kind() {
    local -a argv
    KIND="?"
    { mapfile -d '' -t argv <"/proc/$1/cmdline"; } 2>/dev/null || return 0
    ((${#argv[@]} > 0)) || return 0
    local prog=${argv[0]##*/} i a label
    label=$prog
    case $prog in
        node | node[0-9]* | python | python3* | bash | sh)
            for ((i = 1; i < ${#argv[@]}; i++)); do
                a=${argv[i]}
                case $a in
                    -e | --eval | -p | --print | -c) label="$prog $a" && break ;;
                    -m) label="$prog -m ${argv[i + 1]:-}" && break ;;
                    -r | --require | --import | --loader) ((i++)) || true ;;
                    -*) ;;
                    *) label="$prog ${a##*/}" && break ;;
                esac
            done
            ;;
    esac
    KIND=${label//[$'\t\n']/ }
}

sample() {
    local pid line rest comm key
    local -a f
    while read -r pid; do
        [[ -n $pid ]] || continue
        seen_any=1
        # Gone between the listing and the read: nothing to say of it (and nothing printed).
        { read -r line <"/proc/$pid/stat"; } 2>/dev/null || continue
        rest=${line##*) }
        comm=${line#*(}
        comm=${comm%)*}
        read -r -a f <<<"$rest"
        # f[0] is the state (field 3), so utime and stime (fields 14 and 15) are f[11] and f[12],
        # cutime and cstime (16 and 17) f[13] and f[14], and the start time (22) f[19].
        key="$pid:${f[19]}"
        ticks_of[$key]=$((f[11] + f[12]))
        cticks_of[$key]=$((f[13] + f[14]))
        if [[ ${comm_of[$key]-} != "$comm" || -z ${kind_of[$key]-} ]]; then
            kind "$pid"
            kind_of[$key]=$KIND
            comm_of[$key]=$comm
        fi
    done <"$procs_file"
}

while ((stop == 0)); do
    check_procs_file
    sample
    if ((seen_any)) && [[ -z $(<"$procs_file") ]]; then break; fi
    sleep 1 &
    wait $! || true
done

declare -A cpu_of ccpu_of count_of
for key in "${!ticks_of[@]}"; do
    k=${kind_of[$key]}
    cpu_of[$k]=$((${cpu_of[$k]:-0} + ticks_of[$key]))
    ccpu_of[$k]=$((${ccpu_of[$k]:-0} + cticks_of[$key]))
    count_of[$k]=$((${count_of[$k]:-0} + 1))
done
# OUT appears whole or not at all (renamed into place).
tmp="$out.tmp"
: >"$tmp"
for k in "${!cpu_of[@]}"; do
    awk -v t="${cpu_of[$k]}" -v c="${ccpu_of[$k]}" -v hz="$hz" -v k="$k" -v n="${count_of[$k]}" \
        'BEGIN { printf "%.1f\t%.1f\t%s\t%d\n", t / hz, c / hz, k, n }' >>"$tmp"
done
sort -t $'\t' -k1,1 -rn "$tmp" >"$out.sorted"
mv -f "$out.sorted" "$out"
rm -f "$tmp"
