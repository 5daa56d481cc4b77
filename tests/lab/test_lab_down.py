"""`lab down`, last of the session: the lab that every live module ran on leaves nothing behind."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from labhelpers import lab_cli

from hastack.lab import lab as lab_mod
from hastack.lab import qemu
from hastack.lab.topology import HOSTS

pytestmark = [pytest.mark.lab]


def test_lab_down_leaves_nothing(live_lab: Path, times):
    state = json.loads((live_lab / "state.json").read_text())
    ns_inode = state["netns_ino"]
    qemu_pids = [qemu.pid(qemu.HostFiles(live_lab / "hosts" / h.name)) for h in HOSTS]
    assert all(qemu_pids)
    links_before = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    t0 = time.monotonic()
    lab_cli("down")
    times["lab_down_seconds"] = time.monotonic() - t0
    assert not live_lab.exists()
    assert lab_mod.lab_processes(live_lab) == []
    for p in qemu_pids:
        assert not Path(f"/proc/{p}").exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(live_lab) not in ps and "hastack-lab-" not in ps
    # The namespace: no process is left in it, and so it is gone.
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                assert Path(proc / "ns" / "net").stat().st_ino != ns_inode, proc.name
            except (FileNotFoundError, PermissionError):  # gone meanwhile, or outside our sandbox
                pass
    assert not Path("/run/netns").exists() or not any(Path("/run/netns").iterdir())
    # Bridges and taps lived only in that namespace; the host's links are unchanged.
    links_after = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert [line.split()[0] for line in links_after.splitlines()] == \
        [line.split()[0] for line in links_before.splitlines()]
    for bridge in ("br-mgmt", "br-stor1", "br-stor2"):
        assert bridge not in links_after
    assert str(live_lab) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    assert str(live_lab) not in Path("/proc/mounts").read_text()
