"""The dracut.conf.d file blacklist-module writes (engine.linux.rebuild.dracut_conf), sourced by a
real bash after the lists a guest's configuration may set, as dracut sources it: the module leaves
drivers, add_drivers and force_drivers (in either spelling), everything else stays, an empty list
stays empty, and omit_drivers names it. dracut itself is run on a real Debian guest by
test/rescue/linux-initramfs-real.test.ts."""

import subprocess

import pytest
from engine.linux.rebuild import dracut_conf, dracut_conf_name

SHOW = " ; ".join(f'printf "{v}=[%s]\\n" "${{{v}-}}"' for v in ("drivers", "add_drivers", "force_drivers", "omit_drivers"))


def sourced(before: str, module: str = "falcon_kal") -> dict[str, str]:
    """The four lists after the guest's `before` and our file are sourced by bash (with -u: the file
    reads no variable the guest left unset)."""
    script = f"{before}\n{dracut_conf(module).decode()}\n{SHOW}\n"
    out = subprocess.run(["bash", "-euc", script], capture_output=True, text=True, check=True).stdout
    return {k: v.strip("[]") for k, v in (line.split("=", 1) for line in out.splitlines())}


def test_the_module_leaves_every_list_and_the_rest_stays():
    got = sourced('add_drivers+=" ahci falcon_kal  nvme "\nforce_drivers+=" falcon-kal "\ndrivers=""')
    assert got["add_drivers"] == " ahci nvme "
    assert got["force_drivers"] == ""
    assert got["drivers"] == ""
    assert got["omit_drivers"] == " falcon_kal "


def test_lists_the_guest_never_set_stay_unset_or_empty_and_similar_names_stay():
    got = sourced('add_drivers+=" falcon_kal2 xfalcon_kal "\ndrivers="virtio_blk falcon_kal"')
    assert got["add_drivers"] == " falcon_kal2 xfalcon_kal "
    assert got["drivers"] == " virtio_blk "
    assert got["force_drivers"] == ""


def test_no_variable_of_ours_is_left_behind_and_the_file_passes_dracuts_own_check():
    text = dracut_conf("falcon_lsm_serviceable").decode()
    out = subprocess.run(["bash", "-euc", f"{text}\ncompgen -v | grep _br_ || true"], capture_output=True, text=True, check=True)
    assert out.stdout == ""
    # dracut 059's check_conf_file: a `+=` whose value lacks surrounding spaces is warned about.
    check = subprocess.run(["grep", "-e", '^[^#]*[+]=\\("[^ ]\\|.*[^ ]"\\)'], input=text, capture_output=True, text=True, check=False)
    assert check.returncode == 1, check.stdout


@pytest.mark.parametrize("module", ["falcon_kal", "falcon-kal"])
def test_named_to_sort_after_the_guests_files(module):
    assert dracut_conf_name(module) == f"/etc/dracut.conf.d/zz-bootloop-rescue-omit-{module}.conf"
    assert sourced('add_drivers+=" falcon_kal "', module)["add_drivers"] == ""
