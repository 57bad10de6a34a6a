#!/usr/bin/env bash
# Measures the dev stack's state with the real engine in the sandbox and writes it as the fixture the
# offline plan's state estimate is held to (test/fixtures/engine-state/dev-state-size.json): one
# `up` of the dev stack in a fresh sandbox folder, then `state-size --json`, with the commit and
# machine it was measured on. Run it from a clean tree (the commit must be what was measured);
# refuses otherwise. BOOTLOOP_MACHINE names the machine (default: its host name).
# Usage: bash scripts/sandbox/measure-dev-state.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-test/fixtures/engine-state/dev-state-size.json}
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
    echo "measure-dev-state: the tree has uncommitted changes: the figure would name a commit it was not measured at" >&2
    exit 2
fi
commit=$(git rev-parse --short HEAD)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export SANDBOX_DIR=$dir/sandbox
npm run -s sandbox -- up --stack dev --yes --skip-preview >"$dir/up.log" 2>&1 || {
    tail -n 40 "$dir/up.log" >&2
    echo "measure-dev-state: the dev stack's up failed (above): nothing written" >&2
    exit 1
}
npm run -s sandbox -- state-size --stack dev --json >"$dir/size.json"
COMMIT=$commit MACHINE="${BOOTLOOP_MACHINE:-$(hostname)} ($(nproc) cores, $(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1048576)) GiB)" node -e '
const fs = require("fs");
const size = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const out = {
    measured: new Date().toISOString().slice(0, 10),
    commit: process.env.COMMIT,
    machine: process.env.MACHINE,
    how: "npm run sandbox -- up --stack dev --yes, then npm run sandbox -- state-size --stack dev --json: the real engine (pulumi 3.248.0) with the sandbox'"'"'s stand-in providers (scripts/sandbox/measure-dev-state.sh)",
    ...size,
};
fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
' "$dir/size.json" "$out"
echo "measure-dev-state: $out written (commit $commit)"
