#!/usr/bin/env bash
# npm run demo: builds a sample broken Windows disk image (GPT: EFI, MSR, Windows, Recovery; the
# Windows volume holds the faulty CrowdStrike channel file of 04:09 UTC and the good one of 05:27
# UTC), repairs it with rescue/repair-disk, and prints the evidence. Needs root (loop devices) and
# ntfs-3g, gdisk: `bash scripts/test.sh` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/as-root.sh
as_root "demo: needs root to attach loop devices and mount the image" "$@"
for tool in ntfs-3g mkntfs sgdisk losetup python3; do
    command -v "$tool" >/dev/null || { echo "demo: $tool is missing; run: bash scripts/test.sh (installs it)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
image="$work/broken-windows.img"
cs="Windows/System32/drivers/CrowdStrike"
python3 test/rescue/make_image.py >/dev/null <<JSON
{"image": "$image", "table": "gpt", "sizeMiB": 96, "partitions": [
  {"kind": "efi", "sizeMiB": 8}, {"kind": "msr", "sizeMiB": 8},
  {"kind": "windows", "sizeMiB": 48, "hibernated": true, "files": [
    {"path": "$cs/C-00000291-00000000-00000032.sys", "mtime": "2024-07-19T04:09:13Z", "content": "faulty channel file 291"},
    {"path": "$cs/C-00000291-00000000-00000033.sys", "mtime": "2024-07-19T05:27:04Z", "content": "reverted channel file 291"},
    {"path": "$cs/C-00000290-00000000-00000010.sys", "mtime": "2024-07-19T04:09:13Z", "content": "another channel file"}]},
  {"kind": "recovery", "sizeMiB": 16}]}
JSON
echo "demo: built $image: a GPT disk whose Windows volume holds the faulty 04:09 UTC channel file," >&2
echo "demo: the good 05:27 UTC one, a decoy, and a hibernation file. Dry run first:" >&2
rescue/repair-disk --disk "$image" --dry-run | python3 -c 'import json,sys; e=json.load(sys.stdin); print("demo:   dry run:", e["outcome"], [(m["path"].split("/")[-1], m["action"]) for v in e["volumes"] for m in v["matches"]])' >&2
echo "demo: now the repair (its evidence document follows on stdout):" >&2
rescue/repair-disk --disk "$image"
echo "demo: and again, to show it is idempotent:" >&2
rescue/repair-disk --disk "$image" | python3 -c 'import json,sys; e=json.load(sys.stdin); print("demo:   second run:", e["outcome"], "- earlier quarantine:", e["volumes"][0]["earlierQuarantines"])' >&2
