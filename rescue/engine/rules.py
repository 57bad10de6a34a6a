"""The rules: built-in rule sets, a rules file (JSON or YAML) read and validated, and each rule as evidence."""

import json
import re

from .common import EXIT_BAD_ARGS, Failure, first_line, ns_iso, parse_utc

DEFAULT_RULES = [
    {
        "id": "crowdstrike-channel-file-291",
        "description": "CrowdStrike Falcon channel file 291 stamped 2024-07-19 04:09 UTC (faulty); "
        "files stamped 05:27 UTC or later are the reverted, good version and are kept",
        "path": "Windows/System32/drivers/CrowdStrike/C-00000291*.sys",
        "modifiedFrom": "2024-07-19T04:09:00Z",
        "modifiedBefore": "2024-07-19T05:27:00Z",
    }
]

# Built-in rule sets (--rule-set). The second adds what Azure's fix script grew to do for VMs that
# still did not boot: the registry's TxR transaction files out of the way (build 14393 and later).
RULE_SETS = {
    "crowdstrike-291": DEFAULT_RULES,
    "crowdstrike-291-txr": [
        *DEFAULT_RULES,
        {
            "id": "registry-txr",
            "action": "quarantine-txr",
            "description": "the registry's TxR transaction logs (Windows/System32/config/TxR), which a boot loop can leave unusable, "
            "moved into the quarantine on Windows Server 2016 (build 14393) and later, as Azure's fix script does",
        },
    ],
    # Falcon sensor updates of spring 2024 panicked RHEL 9.4, Rocky 9.4 and Debian guests at boot: the
    # sensor's service masked (it is what loads the modules, with insmod from /opt/CrowdStrike) and its
    # kernel modules blacklisted. The pinned modules (falcon_lsm_pinned_NNNNN) carry a build number
    # in their name and are not named here: masking the service keeps them unloaded.
    "falcon-linux-2024": [
        {
            "id": "falcon-sensor-masked",
            "action": "mask-service",
            "service": "falcon-sensor",
            "description": "the CrowdStrike Falcon sensor's service masked (systemctl mask falcon-sensor): it loads the sensor's modules",
        },
        *(
            {
                "id": f"{module.replace('_', '-')}-blacklisted",
                "action": "blacklist-module",
                "module": module,
                "description": f"the Falcon sensor's kernel module {module} blacklisted (modprobe.d and module_blacklist=)",
            }
            for module in ("falcon_lsm_serviceable", "falcon_nf_netcontain", "falcon_kal")
        ),
    ],
}


# What a rule does: quarantine the files it names (the default), move the registry's TxR
# transaction files into the quarantine (Windows Server 2016 / build 14393 and later, as Azure's
# fix script does), disable a service in the SYSTEM hive's current control set, or start the BCD
# store's default boot entry in safe mode.
RULE_FIELDS = {
    "quarantine": {"id", "description", "action", "path", "modifiedFrom", "modifiedBefore", "sha256", "os"},
    "quarantine-txr": {"id", "description", "action"},
    "disable-service": {"id", "description", "action", "service"},
    "safe-boot": {"id", "description", "action", "mode"},
    # Linux guests: a systemd unit masked (a link to /dev/null in /etc/systemd/system), and nofail
    # on the fstab entries whose device is not on this disk.
    "mask-service": {"id", "description", "action", "service", "os"},
    "fstab-nofail": {"id", "description", "action", "os"},
    # A kernel module kept from loading (modprobe.d and module_blacklist= on the kernel command
    # line), and the default boot entry moved to the previous complete kernel.
    "blacklist-module": {"id", "description", "action", "module", "os"},
    "boot-previous-kernel": {"id", "description", "action", "os"},
}
# The actions that only make sense on one kind of guest; the others (quarantine) on either.
LINUX_ACTIONS = ("mask-service", "fstab-nofail", "blacklist-module", "boot-previous-kernel")
WINDOWS_ACTIONS = ("quarantine-txr", "disable-service", "safe-boot")
MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,55}$")  # the kernel's MODULE_NAME_LEN is 56 with its NUL
UNIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,200}$")
SAFE_BOOT_MODES = {"minimal": 0, "network": 1}
SAFE_BOOT_NAMES = {0: "minimal", 1: "network", 2: "dsrepair"}
# BCD: the boot manager's object, its element naming the default entry, and an entry's elements.
BOOTMGR = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
DEFAULT_ELEMENT = "23000003"
DESCRIPTION_ELEMENT = "12000004"
SAFEBOOT_ELEMENT = "25000080"
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SERVICE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
TXR_MIN_BUILD = 14393
PATH_PART = re.compile(r"^[A-Za-z0-9 ._$~!#%&()+,;=@{}\[\]*?'-]{1,255}$")


def load_rules(path, rule_set=None):
    if path is None:
        return validate_rules(RULE_SETS[rule_set or "crowdstrike-291"], f"rule set {rule_set or 'crowdstrike-291'}")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"--rules {path}: cannot read it: {e.strerror}") from e
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            import yaml  # python3-yaml: cloud-init depends on it, so cloud images have it
        except ImportError:
            raise Failure(
                EXIT_BAD_ARGS, "bad-arguments", f"--rules {path}: not JSON, and YAML needs python3-yaml, which is not installed"
            ) from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"--rules {path}: not valid JSON or YAML: {first_line(str(e))}") from e
    rules = doc.get("rules") if isinstance(doc, dict) else doc
    return validate_rules(rules, f"--rules {path}")


def validate_rules(rules, where):
    if not isinstance(rules, list) or not rules:
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f'{where}: expected a non-empty list of rules (or {{"rules": [...]}})')
    out = []
    for i, r in enumerate(rules):
        at = f"{where}: rules[{i}]"
        if not isinstance(r, dict):
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}: expected a map")
        action = r.get("action", "quarantine")
        if action not in RULE_FIELDS:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}.action: expected one of {', '.join(RULE_FIELDS)}")
        unknown = sorted(set(r) - RULE_FIELDS[action])
        if unknown:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}: unknown field(s) {', '.join(unknown)} for action {action}")
        if not isinstance(r.get("id"), str) or not RULE_ID.match(r["id"]):
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}.id: expected 1-64 lowercase letters, digits, '.', '_', '-'")
        if action == "quarantine" and r.get("os") not in (None, "linux", "windows"):
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}.os: expected linux or windows")
        if action != "quarantine" and r.get("os", "linux" if action in LINUX_ACTIONS else None) not in (
            None,
            "linux" if action in LINUX_ACTIONS else "windows",
        ):
            raise Failure(
                EXIT_BAD_ARGS,
                "bad-arguments",
                f"{at}.os: action {action} is for {'linux' if action in LINUX_ACTIONS else 'windows'} guests",
            )
        if action in LINUX_ACTIONS:
            service = r.get("service")
            if action == "mask-service" and not (
                isinstance(service, str) and UNIT_NAME.match(service) and ".." not in service and not service.endswith(".service")
            ):
                raise Failure(
                    EXIT_BAD_ARGS, "bad-arguments", f"{at}.service: expected a systemd service name without .service, e.g. falcon-sensor"
                )
            module = r.get("module")
            if action == "blacklist-module" and not (isinstance(module, str) and MODULE_NAME.match(module)):
                raise Failure(
                    EXIT_BAD_ARGS,
                    "bad-arguments",
                    f"{at}.module: expected a kernel module's name (letters, digits, '_', '-'; no .ko), e.g. falcon_lsm_serviceable",
                )
            out.append(
                {
                    "id": r["id"],
                    "description": r.get("description", ""),
                    "action": action,
                    "service": service,
                    "module": module,
                    "mode": None,
                    "os": "linux",
                }
            )
            continue
        if action != "quarantine":
            if action == "disable-service" and not (isinstance(r.get("service"), str) and SERVICE_NAME.match(r["service"])):
                raise Failure(
                    EXIT_BAD_ARGS,
                    "bad-arguments",
                    f"{at}.service: expected a service's key name under Services (letters, digits, '.', '_', '-'), e.g. CSAgent",
                )
            if action == "safe-boot" and r.get("mode") not in SAFE_BOOT_MODES:
                raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}.mode: expected minimal or network")
            out.append(
                {
                    "id": r["id"],
                    "description": r.get("description", ""),
                    "action": action,
                    "service": r.get("service"),
                    "mode": r.get("mode"),
                }
            )
            continue
        glob = r.get("path")
        parts = glob.replace("\\", "/").split("/") if isinstance(glob, str) else []
        if not parts or any(not PATH_PART.match(p) or p in (".", "..") for p in parts) or str(glob).startswith(("/", "\\")):
            raise Failure(
                EXIT_BAD_ARGS,
                "bad-arguments",
                f"{at}.path: expected a relative glob under the guest's root (the Windows volume's, or a Linux guest's /), e.g. "
                "Windows/System32/drivers/X/*.sys or opt/CrowdStrike/*.ko (no '..', no absolute path)",
            )
        window = [parse_utc(r[k], f"{at}.{k}") if k in r else None for k in ("modifiedFrom", "modifiedBefore")]
        if window[0] is not None and window[1] is not None and window[0] >= window[1]:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}: modifiedFrom must be before modifiedBefore")
        hashes = r.get("sha256", [])
        if not isinstance(hashes, list) or any(not isinstance(h, str) or not re.match(r"^[0-9a-fA-F]{64}$", h) for h in hashes):
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{at}.sha256: expected a list of 64-digit hex SHA-256 values")
        if window == [None, None] and not hashes:
            raise Failure(
                EXIT_BAD_ARGS,
                "bad-arguments",
                f"{at}: give a time window (modifiedFrom/modifiedBefore) or sha256 values; a path alone could match good files",
            )
        out.append(
            {
                "id": r["id"],
                "description": r.get("description", ""),
                "action": action,
                "path": "/".join(parts),
                "parts": parts,
                "from": window[0],
                "before": window[1],
                "sha256": sorted(h.lower() for h in hashes),
                "os": r.get("os"),
            }
        )
    return out


def file_rules(rules, guest="windows"):
    """The rules that name files to quarantine on a guest of this kind ("windows" or "linux"): a
    rule's `os`, or, when it has none, its path (one under Windows/ is for Windows only)."""
    return [r for r in rules if r["action"] == "quarantine" and rule_os(r) in (None, guest)]


def rule_os(rule):
    """The kind of guest a rule is for: its `os`, else what its action or path says; None for either."""
    if rule.get("os"):
        return rule["os"]
    if rule["action"] in LINUX_ACTIONS:
        return "linux"
    if rule["action"] in WINDOWS_ACTIONS or rule["parts"][0].lower() == "windows":
        return "windows"
    return None


def rule_evidence(rule):
    if rule["action"] != "quarantine":
        e = {"id": rule["id"], "action": rule["action"]}
        if rule["description"]:
            e["description"] = rule["description"]
        if rule["service"]:
            e["service"] = rule["service"]
        if rule.get("module"):
            e["module"] = rule["module"]
        if rule["mode"]:
            e["mode"] = rule["mode"]
        return e
    e = {"id": rule["id"], "path": rule["path"]}
    if rule["description"]:
        e["description"] = rule["description"]
    if rule["from"] is not None:
        e["modifiedFrom"] = ns_iso(rule["from"])
    if rule["before"] is not None:
        e["modifiedBefore"] = ns_iso(rule["before"])
    if rule["sha256"]:
        e["sha256"] = rule["sha256"]
    if rule["os"]:
        e["os"] = rule["os"]
    return e
