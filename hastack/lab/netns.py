"""The lab's network namespace: bridges for the lab networks, taps for the VMs, BMC addresses.

The namespace is held by an anchor process (no /run/netns mount is made), so it disappears
with the last lab process. The host's own namespace never gets an address or route of the
lab; qemu runs in the host namespace (its SSH forward binds the host's loopback) and gets
its tap file descriptors opened inside the lab namespace (setns around one open()).
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import struct
import subprocess
from pathlib import Path

from hastack.lab.topology import HOSTS, NAGIOS_ADDRESS, NETWORKS, PREFIX_LEN, Host, tap_name

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def anchor_argv() -> list[str]:
    return ["unshare", "--net", "--", "sleep", "infinity"]


def ns_path(anchor_pid: int) -> str:
    return f"/proc/{anchor_pid}/ns/net"


def in_ns(anchor_pid: int, argv: list[str]) -> list[str]:
    """argv run inside the lab namespace."""
    return ["nsenter", f"--net={ns_path(anchor_pid)}", "--", *argv]


def setup_commands(hosts: tuple[Host, ...] = HOSTS) -> list[list[str]]:
    """ip commands (to run inside the namespace) that build bridges, taps and BMC addresses."""
    cmds: list[list[str]] = [["ip", "link", "set", "lo", "up"]]
    for bridge, _prefix in NETWORKS.values():
        cmds.append(["ip", "link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        cmds.append(["ip", "link", "set", bridge, "up"])
    for h in hosts:
        for net, (bridge, _prefix) in NETWORKS.items():
            tap = tap_name(h, net)
            cmds.append(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
            cmds.append(["ip", "link", "set", tap, "master", bridge, "up"])
        if h.bmc_address:
            # The BMCs answer on the management bridge itself, inside the namespace only.
            cmds.append(["ip", "addr", "add", f"{h.bmc_address}/{PREFIX_LEN}", "dev", NETWORKS["mgmt"][0]])
    # The lab's Nagios server (hastack/lab/nagios.py) answers there too, and is the source of what the
    # namespace sends (check_nrpe, the drill client): the guests open NRPE to that address only.
    mgmt_bridge, mgmt_prefix = NETWORKS["mgmt"]
    cmds.append(["ip", "addr", "add", f"{NAGIOS_ADDRESS}/{PREFIX_LEN}", "dev", mgmt_bridge])
    cmds.append(["ip", "route", "replace", f"{mgmt_prefix}.0/{PREFIX_LEN}", "dev", mgmt_bridge, "proto", "kernel",
                 "scope", "link", "src", NAGIOS_ADDRESS])
    return cmds


def teardown_commands(hosts: tuple[Host, ...] = HOSTS) -> list[list[str]]:
    cmds = [["ip", "link", "del", tap_name(h, net)] for h in hosts for net in NETWORKS]
    cmds += [["ip", "link", "del", bridge] for bridge, _ in NETWORKS.values()]
    return cmds


def netns_inode(pid: int) -> int:
    return os.stat(ns_path(pid)).st_ino


def own_netns_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def start_anchor(log_path: Path) -> int:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(anchor_argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    # Wait until unshare has moved into its own namespace before anyone uses it.
    for _ in range(100):
        try:
            if netns_inode(proc.pid) != own_netns_inode():
                return proc.pid
        except FileNotFoundError:
            break
        import time
        time.sleep(0.05)
    raise RuntimeError("the lab namespace anchor did not start")


def run_in_ns(anchor_pid: int, cmds: list[list[str]], check: bool = True) -> None:
    for argv in cmds:
        r = subprocess.run(in_ns(anchor_pid, argv), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")


def open_tap(anchor_pid: int, name: str) -> int:
    """Attach to the persistent tap NAME inside the lab namespace; return its fd (inheritable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(ns_path(anchor_pid), os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into the lab namespace")
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:  # never stay in the lab namespace
                raise OSError(ctypes.get_errno(), "setns back to the host namespace")
    finally:
        os.close(own)
        os.close(target)
    os.set_inheritable(fd, True)
    return fd
