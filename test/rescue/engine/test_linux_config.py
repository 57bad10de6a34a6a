"""A Linux guest's configuration as text: fstab entries and ids resolved against THIS disk only,
the fstab-nofail edit, os-release, and the Linux rules' validation."""

import pytest
from engine.common import EXIT_BAD_ARGS, Failure
from engine.linux.config import fstab_entries, fstab_nofail, os_release, resolve, spec_key
from engine.rules import validate_rules

IDS = [
    {"partition": 1, "filesystem": "fat", "uuid": "abcd-1234", "partuuid": "11111111-2222-3333-4444-555555555555"},
    {"partition": 2, "filesystem": "ext", "uuid": "3f1c9a52-7d5e-4b8a-9c41-0e2b6d8f7a10", "label": "cloudimg-rootfs"},
]


def test_specs_resolve_only_against_the_ids_read_off_this_disk():
    assert resolve("UUID=3F1C9A52-7D5E-4B8A-9C41-0E2B6D8F7A10", IDS)["partition"] == 2
    assert resolve("LABEL=cloudimg-rootfs", IDS)["partition"] == 2
    assert resolve("PARTUUID=11111111-2222-3333-4444-555555555555", IDS)["partition"] == 1
    assert resolve("/dev/disk/by-uuid/abcd-1234", IDS)["partition"] == 1
    # The rescue VM's own devices and ids never count: a kernel name or an id not on this disk is not resolved.
    assert resolve("/dev/sda1", IDS) is None
    assert resolve("UUID=00000000-0000-0000-0000-000000000000", IDS) is None
    assert spec_key("server:/export") is None
    # Two partitions with one id (a cloned file system): ambiguous, so not resolved.
    assert resolve("LABEL=x", [{"partition": 1, "label": "x"}, {"partition": 2, "label": "x"}]) is None


def test_fstab_entries_skip_comments_and_unescape_mount_points():
    entries = fstab_entries("# c\n\nUUID=a / ext4 defaults 0 1\n/dev/sdb1 /mnt/my\\040data xfs\n")
    assert [(e["line"], e["mountPoint"], e["type"], e["options"]) for e in entries] == [
        (3, "/", "ext4", ["defaults"]),
        (4, "/mnt/my data", "xfs", ["defaults"]),
    ]


def test_fstab_nofail_adds_both_options_off_the_boot_path_only_and_is_idempotent():
    text = (
        "UUID=3f1c9a52-7d5e-4b8a-9c41-0e2b6d8f7a10 / ext4 defaults 0 1\n"
        "UUID=zzz /data ext4 defaults 0 2\n"
        "UUID=abcd-1234 /boot/efi vfat umask=0077 0 1\n"
        "UUID=yyy /srv xfs nofail 0 0\n"
    )

    def on_disk(spec):
        return resolve(spec, IDS) is not None

    new, changed = fstab_nofail(text, on_disk)
    assert [(c["mountPoint"], c["added"]) for c in changed] == [
        ("/data", ["nofail", "x-systemd.device-timeout=10s"]),
        ("/srv", ["x-systemd.device-timeout=10s"]),
    ]
    lines = new.split("\n")
    assert lines[0] == text.split("\n")[0]
    assert lines[1] == "UUID=zzz\t/data\text4\tdefaults,nofail,x-systemd.device-timeout=10s\t0\t2"
    assert fstab_nofail(new, on_disk) == (new, [])


def test_os_release_values_unquoted():
    assert os_release("NAME=\"Rocky Linux\"\nID=rocky\n# c\nVERSION_ID='9.4'\nbad line\n") == {
        "NAME": "Rocky Linux",
        "ID": "rocky",
        "VERSION_ID": "9.4",
    }


def test_linux_rules_validate_and_refuse_what_they_do_not_take():
    (rule,) = validate_rules([{"id": "m", "action": "mask-service", "service": "falcon-sensor"}], "t")
    assert rule["os"] == "linux"
    for bad, message in (
        ({"id": "m", "action": "mask-service", "service": "falcon-sensor.service"}, ".service"),
        ({"id": "m", "action": "mask-service", "service": "../x"}, ".service"),
        ({"id": "m", "action": "mask-service", "service": "x", "os": "windows"}, ".os"),
        ({"id": "m", "action": "fstab-nofail", "service": "x"}, "unknown field"),
    ):
        with pytest.raises(Failure) as caught:
            validate_rules([bad], "t")
        assert caught.value.code == EXIT_BAD_ARGS
        assert message in caught.value.message
