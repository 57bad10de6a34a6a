#!/usr/bin/env bash
# The shards bench's job, run inside ONE runner cgroup (scripts/sandbox/runner-cgroup.sh): the K
# shards' `up`s AT ONCE, each on the sandbox with the policy pack and its --json events into its own
# `npm run watch` (and a copy for the bench), as one runner running the K jobs side by side would.
#
# Usage: bash bench/engine/shards/job.sh RUN_DIR WATCH_DIR STACK:PARALLEL...   (from the project
# folder, with the sandbox's variables set: SANDBOX_DIR, SANDBOX_STACKS, SANDBOX_CLI_WRAPPERS and
# the wrappers' own). Writes per stack RUN_DIR/STACK.exits.json (the up's, tee's and watch's exit
# codes), STACK.up.err, STACK.events.json, STACK.watch.out; exits 0 when every up exited 0, else 1.
set -uo pipefail
(($# >= 3)) || { echo "usage: bash bench/engine/shards/job.sh RUN_DIR WATCH_DIR STACK:PARALLEL..." >&2; exit 2; }
dir=$1 watch=$2
shift 2
one() {
    local stack=$1 parallel=$2
    npm run -s sandbox -- up --stack "$stack" --yes --json --policy-pack "$PWD/policy" --parallel "$parallel" 2>"$dir/$stack.up.err" |
        tee "$dir/$stack.events.json" |
        BOOTLOOP_STACK_DIR="$watch" npm run -s watch -- --stack "$stack" >"$dir/$stack.watch.out" 2>&1
    local codes=("${PIPESTATUS[@]}")
    printf '{"up":%d,"tee":%d,"watch":%d}\n' "${codes[0]}" "${codes[1]}" "${codes[2]}" >"$dir/$stack.exits.json"
    return "${codes[0]}"
}
pids=()
for pair in "$@"; do
    [[ $pair =~ ^([A-Za-z0-9][A-Za-z0-9_.-]*):([0-9]+)$ ]] || { echo "job.sh: not STACK:PARALLEL: $pair" >&2; exit 2; }
    one "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
