#!/usr/bin/env bash
# Installs everything the test suite needs and runs it: the README's test command, and what CI runs.
# System packages: ntfs-3g, gdisk, fdisk, util-linux and e2fsprogs build and inspect real NTFS disk
# images for the repair engine's tests (losetup needs root). dislocker is what the engine uses on a
# rescue VM; the tests stand it in, but install it so the real binary's presence is also exercised.
# awscli (v2) and azure-cli: every call the scripts make is replayed through the real CLIs (and
# gcloud, which the machine has) inside a network namespace that reaches no cloud. python3-hivex
# (for /usr/bin/python3) reads registry hives in the engine, as on a rescue VM, and builds the
# tests' hives; libhivex-bin gives hivexsh to look at them by hand. mtools reads the EFI system
# partition in the engine, as on a rescue VM; dosfstools formats the tests' EFI partitions.
# python3-venv: scripts/lint-python.sh installs the pinned ruff into a venv of its own.
# xfsprogs and btrfs-progs build and inspect the Linux guests' disk images (XFS, btrfs) the engine
# repairs. bubblewrap is the sandbox the engine runs a guest's initramfs tool in (as on a rescue VM);
# busybox-static is the small userland the tests put on a guest for that tool to run on;
# debootstrap (with gcc, for a stand-in kernel module) builds the Debian guests whose REAL
# initramfs-tools and dracut the engine runs (test/rescue/make_debian_root.sh: from
# deb.debian.org, cached under ~/.cache/bootloop-rescue/guest-roots, about a minute cold). lvm2
# builds the tests' LVM guests only (pvcreate, vgcreate, vgcfgrestore on loop devices, with a
# private LVM_SYSTEM_DIR): the engine never runs it, and rescue VMs do not install it.
# chromium (with fonts-liberation for readable screenshots) is the real browser the status
# page's tests open through playwright-core.
set -euo pipefail
cd "$(dirname "$0")/.."

# Loop devices and mounts need root: as another user, run again through sudo when there is one.
source scripts/as-root.sh
as_root "scripts/test.sh needs root (loop devices, mounts for the repair engine's tests)" "$@"

packages=(ntfs-3g gdisk fdisk util-linux e2fsprogs jq python3 python3-venv python3-hivex libhivex-bin mtools dosfstools dislocker awscli azure-cli iproute2 xfsprogs btrfs-progs bubblewrap busybox-static debootstrap gcc lvm2 chromium fonts-liberation)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
# The house's checks first, each failing the run on its own: formatting (prettier, a diff is a
# failure), typescript-eslint's type-aware rules, and ruff over the Python (installed from PyPI,
# pinned in requirements-dev.txt).
npm run -s format:check
npm run -s lint
bash scripts/lint-python.sh
npx tsc -p tsconfig.json --noEmit

# The suite in two lanes at once, as the two halves spend different things: the real engine's tests
# (test/sandbox/engine-*.test.ts) mostly wait on the engine and the sandbox's cloud, after the real
# Pulumi CLI is built from the Go module proxy (once per version, into the machine's cache:
# docs/engine.md; tens of minutes cold, seconds after that); the rest of the suite needs no CLI.
# Run one after the other, a cold CI run took about 45 minutes; side by side, the build and the
# engine's tests overlap the rest. The engine lane writes to a log printed after the main lane's
# output, and the run fails if either lane fails. It runs in a process group of its own, killed
# with this script (a signal, a failure elsewhere), so no engine outlives the run.
engine_specs=(test/sandbox/engine-*.test.ts)
engine_log=$(mktemp "${TMPDIR:-/tmp}/bootloop-engine-tests.XXXXXX")
engine_lane=
stop_engine_lane() {
    [[ -n $engine_lane ]] && kill -- "-$engine_lane" 2>/dev/null
    rm -f "$engine_log"
}
trap stop_engine_lane EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
setsid bash -c 'set -euo pipefail
    bash scripts/engine/build.sh --cli >/dev/null
    exec npx mocha --no-config -r ts-node/register/transpile-only --extension ts --timeout 60000 --reporter spec "$@"' \
    engine-lane "${engine_specs[@]}" >"$engine_log" 2>&1 &
engine_lane=$!

main_status=0
npx mocha --ignore 'test/sandbox/engine-*.test.ts' || main_status=$?
engine_status=0
wait "$engine_lane" || engine_status=$?
engine_lane=
printf '\n== the real engine lane (scripts/engine/build.sh --cli, then %s) ==\n' "${engine_specs[*]}"
cat "$engine_log"
if ((main_status != 0 || engine_status != 0)); then
    printf 'scripts/test.sh: FAILED: the suite without the engine exited %d; the real engine lane exited %d\n' "$main_status" "$engine_status" >&2
    exit 1
fi
echo "scripts/test.sh: every check passed (the suite, and the real engine lane)"
