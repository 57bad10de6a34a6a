"""The Linux rules planned over a guest laid out in a temporary folder (no disk, no mount): rules
that edit one file see each other's edits, a refused rule leaves nothing for the next to see, and
backups are named so that each rule's undo puts back what was there before it."""

import os

import pytest
from engine.common import EXIT_UNSAFE, Failure
from engine.linux.gfs import apply_edit
from engine.linux.remedies import Guest, plan_rules
from engine.rules import validate_rules


class Volume:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def guest(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Guest(Volume(tmp_path), None)


def plan(g, rules):
    return plan_rules(g, validate_rules(rules, "t"), {"stamp": "S", "on_disk": lambda _: True, "kernels": [], "first": False})


GRUB_CFG = "menuentry 'x' $menuentry_id_option 'gnulinux-simple-U' {\n\tlinux\t/boot/vmlinuz-6.1.0 root=UUID=U ro\n}\n"


def test_two_modules_end_in_one_module_blacklist_and_the_second_backup_is_numbered(tmp_path):
    g = guest(tmp_path, {"etc/default/grub": 'GRUB_CMDLINE_LINUX=""\n', "boot/grub/grub.cfg": GRUB_CFG, "etc/modprobe.d/.keep": ""})
    first, second = plan(
        g,
        [{"id": "a", "action": "blacklist-module", "module": "falcon_kal"}, {"id": "b", "action": "blacklist-module", "module": "x"}],
    )
    assert first["status"] == second["status"] == "change"
    for record in (first, second):
        for e in record["_edits"]:
            apply_edit(g.fd(e["on"]), e)
    assert (tmp_path / "etc/default/grub").read_text() == 'GRUB_CMDLINE_LINUX="module_blacklist=falcon_kal,x"\n'
    assert "ro module_blacklist=falcon_kal,x\n" in (tmp_path / "boot/grub/grub.cfg").read_text()
    assert (tmp_path / "etc/default/grub.bootloop-rescue-S").read_text() == 'GRUB_CMDLINE_LINUX=""\n'
    assert (tmp_path / "etc/default/grub.bootloop-rescue-S-2").read_text() == 'GRUB_CMDLINE_LINUX="module_blacklist=falcon_kal"\n'
    assert second["undo"].startswith("mv /boot/grub/grub.cfg.bootloop-rescue-S-2 /boot/grub/grub.cfg && ")


def test_a_refused_rule_leaves_nothing_for_the_rules_after_it(tmp_path):
    # GRUB_CMDLINE_LINUX holds an expansion: the first rule is refused after planning its modprobe.d file.
    g = guest(tmp_path, {"etc/default/grub": 'GRUB_CMDLINE_LINUX="$(x)"\n', "boot/grub/grub.cfg": GRUB_CFG, "etc/modprobe.d/.keep": ""})
    refused, masked = plan(
        g, [{"id": "a", "action": "blacklist-module", "module": "m"}, {"id": "b", "action": "mask-service", "service": "falcon-sensor"}]
    )
    assert refused["status"] == "refused" and refused["_edits"] == []
    assert "/etc/modprobe.d/bootloop-rescue-blacklist-m.conf" not in g.pending
    assert masked["status"] == "refused"  # no /etc/systemd/system here


def test_a_file_too_large_to_be_the_guests_own_is_refused_before_anything_is_planned(tmp_path):
    g = guest(tmp_path, {"boot/grub/grub.cfg": GRUB_CFG + "#" * (1 << 20), "etc/modprobe.d/.keep": ""})
    with pytest.raises(Failure) as caught:
        plan(g, [{"id": "a", "action": "blacklist-module", "module": "m"}])
    assert caught.value.code == EXIT_UNSAFE
    assert "/boot/grub/grub.cfg on the guest is larger than 1024 KiB" in caught.value.message
