#!/usr/bin/env bash
# One shard's job, run inside a runner cgroup of its own (scripts/sandbox/runner-cgroup.sh), as CI
# runs each shard as a job on a runner of its own: the shard's `up` on the sandbox with the policy
# pack, its --json events into its own `npm run watch` (and a copy for the bench). The shards bench
# starts one such job per shard, all at once (bench/engine/shards/run.ts).
#
# Usage: bash bench/engine/shards/shard-job.sh RUN_DIR WATCH_DIR STACK PARALLEL   (from the project
# folder, with the sandbox's variables set: SANDBOX_DIR, SANDBOX_STACKS, SANDBOX_CLI_WRAPPERS and
# the wrappers' own). Writes RUN_DIR/STACK.exits.json (the up's, tee's and watch's exit codes),
# STACK.up.err, STACK.events.json, STACK.watch.out; exits with the up's code.
set -uo pipefail
(($# == 4)) || { echo "usage: bash bench/engine/shards/shard-job.sh RUN_DIR WATCH_DIR STACK PARALLEL" >&2; exit 2; }
dir=$1 watch=$2 stack=$3 parallel=$4
[[ $stack =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "shard-job.sh: STACK: not a stack name: $stack" >&2; exit 2; }
[[ $parallel =~ ^[1-9][0-9]{0,4}$ ]] || { echo "shard-job.sh: PARALLEL: not a whole number: $parallel" >&2; exit 2; }
npm run -s sandbox -- up --stack "$stack" --yes --json --policy-pack "$PWD/policy" --parallel "$parallel" 2>"$dir/$stack.up.err" |
    tee "$dir/$stack.events.json" |
    BOOTLOOP_STACK_DIR="$watch" npm run -s watch -- --stack "$stack" >"$dir/$stack.watch.out" 2>&1
codes=("${PIPESTATUS[@]}")
printf '{"up":%d,"tee":%d,"watch":%d}\n' "${codes[0]}" "${codes[1]}" "${codes[2]}" >"$dir/$stack.exits.json"
exit "${codes[0]}"
