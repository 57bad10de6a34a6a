#!/usr/bin/env bash
# Runs one command step by path, so the stack's state keeps a short command line instead of the
# script's whole text in every VM's resources:
#
#   run.sh CLOUD/SCRIPT HASH [LIB...]     e.g. run.sh aws/swap 3f2a9c0e1b7d4a55
#
# It assembles the same text as script-text.ts (core's base.sh, the cloud's common.sh, the
# libraries asked for, the script), joined by newlines, and runs it with bash. HASH is the
# text's hash when the program was run: a text that changed since is run as it is now (a delete
# at teardown runs the current text), with a line saying so. Run from the project folder (where
# `pulumi up` runs commands); inventory values come as environment variables only.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
step=${1:-}
recorded=${2:-}
shift 2 || true
[[ $step =~ ^[a-z0-9]+/[a-z0-9-]+$ ]] || { echo "bootloop-rescue: run.sh: not a step: $step" >&2; exit 2; }
dir="$home/components/${step%/*}/scripts"
files=("$home/components/core/scripts/base.sh" "$dir/common.sh")
for lib in "$@"; do
    [[ $lib =~ ^[a-z0-9-]+$ ]] || { echo "bootloop-rescue: run.sh: not a library: $lib" >&2; exit 2; }
    files+=("$dir/$lib.sh")
done
files+=("$dir/${step#*/}.sh")
assemble() {
    local first=1 f
    for f in "${files[@]}"; do
        ((first)) || printf '\n'
        first=0
        cat "$f"
    done
}
text=$(assemble)
hash=$(printf '%s' "$text" | sha256sum)
hash=${hash:0:16}
[[ $hash == "$recorded" ]] || echo "bootloop-rescue: $step: running its current text (hash $hash; the stack recorded $recorded)" >&2
export BOOTLOOP_HOME=$home
exec bash -c "$text" "bootloop-rescue/$step"
