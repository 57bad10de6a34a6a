"""detach_loop (engine.workspace) waits until the kernel has really let the loop device go: a
loop another process still holds open is only marked autoclear by `losetup -d`, which returns 0.
Needs root (a real loop device); skipped, and so reported, without it."""

import os
import subprocess

import pytest
from engine.workspace import detach_loop, loop_backing

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: attaches a real loop device")


@pytest.fixture
def attach():
    """Attaches a loop device over a 1 MiB file; whatever the test did, it is detached after."""
    made: list[tuple[str, str]] = []

    def make(path) -> str:
        with open(path, "wb") as f:
            f.truncate(1 << 20)
        dev = subprocess.run(["losetup", "--find", "--show", str(path)], capture_output=True, text=True, check=True).stdout.strip()
        made.append((dev, str(path)))
        return dev

    yield make
    for dev, path in made:
        backing = loop_backing(dev)
        if backing is not None and backing[1] == path:
            subprocess.run(["losetup", "-d", dev], check=False)


def test_a_loop_still_held_open_is_reported_not_taken_as_released(tmp_path, attach):
    dev = attach(tmp_path / "held.img")
    fd = os.open(dev, os.O_RDONLY)
    try:
        with pytest.raises(RuntimeError, match="still attached"):
            detach_loop(dev, wait_seconds=0.2)
    finally:
        os.close(fd)
    # Closed by its last holder, the autoclear loop is gone.
    assert loop_backing(dev) is None


def test_a_free_loop_is_gone_when_detach_returns(tmp_path, attach):
    dev = attach(tmp_path / "free.img")
    detach_loop(dev)
    assert loop_backing(dev) is None
