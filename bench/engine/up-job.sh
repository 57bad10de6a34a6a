#!/usr/bin/env bash
# One runner's job for the engine benches, run inside a runner cgroup (scripts/sandbox/runner-cgroup.sh):
# ONE `up` of a stack on the sandbox with the policy pack, its --json events into `npm run watch`
# (and a copy for the bench), as a CI job runs them. The single-up bench runs one (bench/engine/run.ts);
# the shards bench one per shard, all at once, each in a runner of its own (bench/engine/shards/run.ts).
#
# Usage: bash bench/engine/up-job.sh STACK PARALLEL OUT_PREFIX WATCH_DIR   (from the project folder,
# with the sandbox's variables set: SANDBOX_DIR, SANDBOX_STACKS, SANDBOX_CLI_WRAPPERS and the
# wrappers' own). OUT_PREFIX is where the files go, a path prefix ("RUN_DIR/" or "RUN_DIR/STACK."):
# OUT_PREFIXexits.json (the up's, tee's and watch's exit codes), OUT_PREFIXup.err,
# OUT_PREFIXevents.json, OUT_PREFIXwatch.out. WATCH_DIR is the watch's stack folder. Exits with the up's code.
set -uo pipefail
(($# == 4)) || { echo "usage: bash bench/engine/up-job.sh STACK PARALLEL OUT_PREFIX WATCH_DIR" >&2; exit 2; }
stack=$1 parallel=$2 out=$3 watch=$4
[[ $stack =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "up-job.sh: STACK: not a stack name: $stack" >&2; exit 2; }
[[ $parallel =~ ^[1-9][0-9]{0,4}$ ]] || { echo "up-job.sh: PARALLEL: not a whole number: $parallel" >&2; exit 2; }
npm run -s sandbox -- up --stack "$stack" --yes --json --policy-pack "$PWD/policy" --parallel "$parallel" 2>"${out}up.err" |
    tee "${out}events.json" |
    BOOTLOOP_STACK_DIR="$watch" npm run -s watch -- --stack "$stack" >"${out}watch.out" 2>&1
codes=("${PIPESTATUS[@]}")
printf '{"up":%d,"tee":%d,"watch":%d}\n' "${codes[0]}" "${codes[1]}" "${codes[2]}" >"${out}exits.json"
exit "${codes[0]}"
