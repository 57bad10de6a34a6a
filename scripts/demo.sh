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
# Registry hives like a Windows Server 2022's in what the engine reads (built with hivex, where
# python3-hivex is installed): the build, and CrowdStrike's boot-start driver in ControlSet001.
hives=""
if /usr/bin/python3 -c "import hivex" 2>/dev/null; then
    WORK=$work /usr/bin/python3 - <<'PY'
import json, os, subprocess
work = os.environ["WORK"]
specs = [
    {"out": f"{work}/SOFTWARE", "name": "SOFTWARE", "keys": {r"Microsoft\Windows NT\CurrentVersion": {
        "CurrentBuildNumber": {"sz": "20348"}, "UBR": {"dword": 2527}, "ProductName": {"sz": "Windows Server 2022 Datacenter"}}}},
    {"out": f"{work}/SYSTEM", "name": "SYSTEM", "keys": {
        "Select": {"Current": {"dword": 1}},
        r"ControlSet001\Services\CSAgent": {"Start": {"dword": 0}, "Type": {"dword": 1}, "ImagePath": {"expand": r"\SystemRoot\System32\drivers\CrowdStrike\csagent.sys"}},
        r"ControlSet001\Services\disk": {"Start": {"dword": 0}, "Type": {"dword": 1}, "ImagePath": {"expand": r"System32\drivers\disk.sys"}}}},
]
for spec in specs:
    subprocess.run(["/usr/bin/python3", "test/rescue/make_hive.py"], input=json.dumps(spec), text=True, check=True)
PY
    hives=",
    {\"path\": \"Windows/System32/config/SYSTEM\", \"source\": \"$work/SYSTEM\"},
    {\"path\": \"Windows/System32/config/SOFTWARE\", \"source\": \"$work/SOFTWARE\"}"
else
    echo "demo: python3-hivex is not installed: the disk gets no registry hives (bash scripts/test.sh installs it)" >&2
fi
python3 test/rescue/make_image.py >/dev/null <<JSON
{"image": "$image", "table": "gpt", "sizeMiB": 96, "partitions": [
  {"kind": "efi", "sizeMiB": 8}, {"kind": "msr", "sizeMiB": 8},
  {"kind": "windows", "sizeMiB": 48, "hibernated": true, "files": [
    {"path": "$cs/C-00000291-00000000-00000032.sys", "mtime": "2024-07-19T04:09:13Z", "content": "faulty channel file 291"},
    {"path": "$cs/C-00000291-00000000-00000033.sys", "mtime": "2024-07-19T05:27:04Z", "content": "reverted channel file 291"},
    {"path": "$cs/C-00000290-00000000-00000010.sys", "mtime": "2024-07-19T04:09:13Z", "content": "another channel file"}$hives]},
  {"kind": "recovery", "sizeMiB": 16}]}
JSON
echo "demo: built $image: a GPT disk whose Windows volume holds the faulty 04:09 UTC channel file," >&2
echo "demo: the good 05:27 UTC one, a decoy, a hibernation file and registry hives. Dry run first:" >&2
rescue/repair-disk --disk "$image" --dry-run | python3 -c 'import json,sys; e=json.load(sys.stdin); print("demo:   dry run:", e["outcome"], [(m["path"].split("/")[-1], m["action"]) for v in e["volumes"] for m in v["matches"]])' >&2
echo "demo: now the repair (its evidence document follows on stdout):" >&2
rescue/repair-disk --disk "$image"
echo "demo: and again, to show it is idempotent:" >&2
rescue/repair-disk --disk "$image" | python3 -c 'import json,sys; e=json.load(sys.stdin); print("demo:   second run:", e["outcome"], "- earlier quarantine:", e["volumes"][0]["earlierQuarantines"])' >&2
