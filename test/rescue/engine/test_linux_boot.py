"""GRUB and the kernel command line as text: grubenv edited at its size, BLS entries, grub.cfg's
entries and saved ids, module_blacklist= merged the way the kernel reads it, /etc/default/grub, and
kernel versions in order; the Linux rules' validation and the falcon-linux-2024 rule set."""

import pytest
from engine.common import EXIT_BAD_ARGS, Failure
from engine.linux.boot import (
    bls_fields,
    bls_with_options,
    default_grub_set,
    default_grub_value,
    default_grub_with_blacklist,
    grub_cfg_default_saved,
    grub_cfg_entries,
    grub_cfg_with_blacklist,
    grubenv_set,
    grubenv_values,
    kernel_of_image,
    version_key,
    with_blacklist,
)
from engine.rules import file_rules, load_rules, validate_rules


def block(text):
    return (b"# GRUB Environment Block\n" + text).ljust(1024, b"#")


def test_grubenv_is_edited_at_its_size_keeping_the_other_variables():
    env = block(b"saved_entry=old\nboot_success=0\n")
    new = grubenv_set(env, "saved_entry", "abc-5.14.0-427.13.1.el9_4.x86_64")
    assert len(new) == 1024
    assert grubenv_values(new) == {"saved_entry": "abc-5.14.0-427.13.1.el9_4.x86_64", "boot_success": "0"}
    assert grubenv_set(new, "saved_entry", "abc-5.14.0-427.13.1.el9_4.x86_64") == new
    # A 2048-byte block stays 2048 bytes.
    assert len(grubenv_set((b"# GRUB Environment Block\n").ljust(2048, b"#"), "saved_entry", "x")) == 2048


def test_grubenv_refuses_what_it_cannot_edit_safely():
    assert grubenv_set(block(b"kernelopts=" + b"x" * 990 + b"\n"), "saved_entry", "y" * 40) is None  # no room
    assert grubenv_values(b"not a block") is None
    assert grubenv_values(block(b"a=escaped\\\nnewline\n")) is None
    assert grubenv_set(block(b""), "saved_entry", "bad value; rm -rf /") is None


def test_module_blacklist_is_merged_into_the_last_parameter_the_kernel_reads():
    assert with_blacklist("ro quiet", "falcon_kal") == ("ro quiet module_blacklist=falcon_kal", True)
    assert with_blacklist("", "falcon_kal") == ("module_blacklist=falcon_kal", True)
    assert with_blacklist("module_blacklist=a ro module_blacklist=b", "c") == ("module_blacklist=a ro module_blacklist=b,c", True)
    assert with_blacklist("ro module_blacklist=falcon-kal", "falcon_kal") == ("ro module_blacklist=falcon-kal", False)


def test_bls_options_are_edited_and_an_entry_without_them_gets_a_line():
    entry = "title RHEL\nversion 5.14.0\nlinux /vmlinuz-5.14.0\noptions root=UUID=x ro\n"
    assert bls_fields(entry)["version"] == "5.14.0"
    new, changed = bls_with_options(entry, lambda o: with_blacklist(o, "m"))
    assert changed and "options root=UUID=x ro module_blacklist=m\n" in new
    assert bls_with_options(new, lambda o: with_blacklist(o, "m")) == (new, False)
    bare, changed = bls_with_options("title x\nlinux /vmlinuz-1\n", lambda o: with_blacklist(o, "m"))
    assert changed and bare == "title x\nlinux /vmlinuz-1\noptions module_blacklist=m\n"


GRUB_CFG = """if [ "${next_entry}" ] ; then
   set default="${next_entry}"
else
   set default="0"
fi
function load_video {
  insmod all_video
}
menuentry 'Ubuntu' --class ubuntu $menuentry_id_option 'gnulinux-simple-U' {
\tlinux\t/boot/vmlinuz-6.8.0-45-generic root=UUID=U ro quiet
}
submenu 'Advanced options for Ubuntu' $menuentry_id_option 'gnulinux-advanced-U' {
\tmenuentry 'Ubuntu, with Linux 6.8.0-40-generic' --class ubuntu $menuentry_id_option 'gnulinux-6.8.0-40-generic-advanced-U' {
\t\tlinux\t/boot/vmlinuz-6.8.0-40-generic root=UUID=U ro quiet
\t}
}
menuentry 'Memory test (memtest86+x64.bin)' $menuentry_id_option 'memtest86+' {
\tlinux16\t/boot/memtest86+x64.bin
}
menuentry 'UEFI Firmware Settings' $menuentry_id_option 'uefi-firmware' {
\tfwsetup
}
"""


def test_grub_cfg_entries_carry_the_saved_entry_value_that_selects_them():
    entries = grub_cfg_entries(GRUB_CFG)
    assert [(e["saved"], kernel_of_image(e["kernel"]), e["topLevel"]) for e in entries] == [
        ("gnulinux-simple-U", "6.8.0-45-generic", True),
        ("gnulinux-advanced-U>gnulinux-6.8.0-40-generic-advanced-U", "6.8.0-40-generic", False),
        ("memtest86+", None, True),
        ("uefi-firmware", None, True),
    ]
    # GRUB takes a saved_entry of titles too (grub-set-default "Advanced options for Ubuntu>Ubuntu, with Linux …").
    assert entries[1]["savedTitle"] == "Advanced options for Ubuntu>Ubuntu, with Linux 6.8.0-40-generic"


def test_grub_cfg_default_from_saved_entry_and_linux_lines_blacklisted():
    new, changed = grub_cfg_default_saved(GRUB_CFG)
    assert changed
    assert '   set default="${next_entry}"' in new and '   set default="${saved_entry}"' in new and 'set default="0"' not in new
    assert grub_cfg_default_saved(new) == (new, False)
    listed, count = grub_cfg_with_blacklist(GRUB_CFG, "falcon_kal")
    assert count == 2  # the memtest line loads no kernel: left alone
    assert "\tlinux16\t/boot/memtest86+x64.bin\n" in listed
    assert "\t\tlinux\t/boot/vmlinuz-6.8.0-40-generic root=UUID=U ro quiet module_blacklist=falcon_kal" in listed
    assert grub_cfg_with_blacklist(listed, "falcon_kal") == (listed, 0)


def test_etc_default_grub_values_are_set_and_expansions_refused():
    text = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="rhgb quiet"\n'
    assert default_grub_value(text, "GRUB_CMDLINE_LINUX") == "rhgb quiet"
    assert default_grub_set(text, "GRUB_DEFAULT", "saved") == ('GRUB_DEFAULT="saved"\nGRUB_CMDLINE_LINUX="rhgb quiet"\n', True)
    assert default_grub_set("X=1\n", "GRUB_DEFAULT", "saved") == ('X=1\nGRUB_DEFAULT="saved"\n', True)
    new, changed = default_grub_with_blacklist(text, "m")
    assert changed and 'GRUB_CMDLINE_LINUX="rhgb quiet module_blacklist=m"' in new
    assert default_grub_with_blacklist('GRUB_CMDLINE_LINUX="$(cat /x)"\n', "m") is None


def test_kernel_versions_sort_by_their_numbers():
    versions = ["5.14.0-427.16.1.el9_4.x86_64", "5.14.0-427.13.1.el9_4.x86_64", "5.14.0-70.13.1.el9_0.x86_64", "6.8.0-9-generic"]
    assert sorted(versions, key=version_key) == [versions[2], versions[1], versions[0], versions[3]]
    assert version_key("6.8.0-45-generic") > version_key("6.8.0-9-generic")


def test_blacklist_module_rules_validate_and_the_falcon_set_names_the_sensor():
    (rule,) = validate_rules([{"id": "m", "action": "blacklist-module", "module": "falcon_lsm_serviceable"}], "t")
    assert rule["os"] == "linux" and rule["module"] == "falcon_lsm_serviceable"
    for bad in ({"id": "m", "action": "blacklist-module"}, {"id": "m", "action": "blacklist-module", "module": "x.ko"}):
        with pytest.raises(Failure) as caught:
            validate_rules([bad], "t")
        assert caught.value.code == EXIT_BAD_ARGS and ".module" in caught.value.message
    falcon = load_rules(None, "falcon-linux-2024")
    assert [(r["action"], r["service"] or r["module"]) for r in falcon] == [
        ("mask-service", "falcon-sensor"),
        ("blacklist-module", "falcon_lsm_serviceable"),
        ("blacklist-module", "falcon_nf_netcontain"),
        ("blacklist-module", "falcon_kal"),
    ]


def test_file_rules_go_to_the_guest_their_os_or_path_names():
    rules = validate_rules(
        [
            {"id": "w", "path": "Windows/System32/x.sys", "sha256": ["a" * 64]},
            {"id": "l", "path": "opt/CrowdStrike/x", "sha256": ["a" * 64], "os": "linux"},
            {"id": "both", "path": "bootloop/x", "sha256": ["a" * 64]},
        ],
        "t",
    )
    assert [r["id"] for r in file_rules(rules, "linux")] == ["l", "both"]
    assert [r["id"] for r in file_rules(rules, "windows")] == ["w", "both"]
