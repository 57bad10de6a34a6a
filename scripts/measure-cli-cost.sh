#!/usr/bin/env bash
# Measures the real CLIs' cost per call shape (AWS CLI v2 at /usr/bin/aws, gcloud, and azure-cli
# AZ_VERSION from PyPI in a venv of its own under .cache/) and writes bench/fleet/cli-cost.json,
# which the fleet bench and discovery's bench price CLI calls with. As root: the CLIs run inside
# `unshare -n -m` (loopback only; the clouds' hosts point at local fake clouds through a
# bind-mounted /etc/hosts), so nothing can reach a real cloud. Exits non-zero if any call shape
# did not run (it is written to the file as failed, never with a figure).
#   npm run measure:cli-cost [-- REPETITIONS]   (default 7)
#   npm run measure:cli-cost -- --api [ROUNDS]   (default 20) the watcher's observations through the
#       clouds' APIs instead (bench/cli-cost/api-measure.ts): CPU per API request in the watcher's
#       own process, each observation checked against what the fake clouds answered; writes
#       bench/fleet/api-cost.json, and exits non-zero when an observation was wrong or did not run.
set -euo pipefail
cd "$(dirname "$0")/.."

AZ_VERSION=2.91.0
kind=cli measure=bench/cli-cost/measure.ts what="a call shape did not run" default_reps=7
if [[ ${1:-} == --api ]]; then
    kind=api measure=bench/cli-cost/api-measure.ts what="an observation was wrong or did not run" default_reps=20
    shift
fi
REPETITIONS=${1:-$default_reps}
[[ $REPETITIONS =~ ^[1-9][0-9]?$ ]] || { echo "measure-cli-cost: REPETITIONS must be 1 to 99" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "measure-cli-cost: run as root (it needs unshare -n -m and port 443 in that namespace)" >&2; exit 2; }
for need in /usr/bin/aws gcloud /usr/bin/time openssl unshare ip mount; do
    command -v "$need" >/dev/null || { echo "measure-cli-cost: $need is missing" >&2; exit 2; }
done
/usr/bin/aws --version 2>&1 | grep -q '^aws-cli/2\.' || { echo "measure-cli-cost: /usr/bin/aws is not AWS CLI v2" >&2; exit 2; }

venv=.cache/azure-cli-$AZ_VERSION
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("azure-cli"))' 2>/dev/null || true)
if [[ ! -x $venv/bin/az || $installed != "$AZ_VERSION" ]]; then
    echo "measure-cli-cost: installing azure-cli==$AZ_VERSION into $venv (a few minutes)" >&2
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --disable-pip-version-check -q "azure-cli==$AZ_VERSION"
fi

out=bench/fleet/$kind-cost.json
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
status=0
CLI_COST_COMMIT=$(git rev-parse HEAD) CLI_COST_MACHINE=${CLI_COST_MACHINE:-$(hostname)} \
    unshare -n -m node -r ts-node/register/transpile-only "$measure" "$tmp" "$PWD/$venv/bin/az" "$REPETITIONS" || status=$?
if [[ -s $tmp ]]; then
    cp "$tmp" "$out"
    # As the tree is formatted (CI checks prettier over every JSON file).
    node_modules/.bin/prettier --log-level warn --write "$out"
    echo "measure-cli-cost: wrote $out" >&2
fi
if [[ $status != 0 ]]; then
    echo "measure-cli-cost: FAILED (exit $status): $what; see above and $out" >&2
    exit "$status"
fi
