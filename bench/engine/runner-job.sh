#!/usr/bin/env bash
# The engine bench's job, run inside the runner's cgroup (scripts/sandbox/runner-cgroup.sh): ONE
# `up` of the stack on the sandbox with the policy pack, its --json events into `npm run watch`
# (and a copy for the bench), as a runner would run them side by side.
#
# Usage: bash bench/engine/runner-job.sh STACK RUN_DIR PARALLEL   (from the project folder, with the
# sandbox's variables set: SANDBOX_DIR, SANDBOX_STACKS, SANDBOX_CLI_WRAPPERS and the wrappers' own)
# Writes RUN_DIR/exits.json (the up's, tee's and watch's exit codes), up.err, events.json,
# watch.out; exits with the up's code.
set -uo pipefail
(($# == 3)) || { echo "usage: bash bench/engine/runner-job.sh STACK RUN_DIR PARALLEL" >&2; exit 2; }
stack=$1 dir=$2 parallel=$3
npm run -s sandbox -- up --stack "$stack" --yes --json --policy-pack "$PWD/policy" --parallel "$parallel" 2>"$dir/up.err" |
    tee "$dir/events.json" |
    BOOTLOOP_STACK_DIR="$dir/watch" npm run -s watch -- --stack "$stack" >"$dir/watch.out" 2>&1
codes=("${PIPESTATUS[@]}")
printf '{"up":%d,"tee":%d,"watch":%d}\n' "${codes[0]}" "${codes[1]}" "${codes[2]}" >"$dir/exits.json"
exit "${codes[0]}"
