"""Chassis control program that the lab's ipmi_sim runs for IPMI power commands.

    chassis.py LABDIR HOST DEVICE get power
    chassis.py LABDIR HOST DEVICE set power 0|1 [reset 1] ...
    chassis.py LABDIR HOST - post       (internal: boots the host once its self-test is over)

Acts on the host's qemu through QMP. A hypervisor powered off or reset through its BMC fires
no libvirt hook, so the guests the relay last placed on it are powered off here as well.
A power-on models a server's firmware self-test (lab-only, `bmc/post-seconds`): the chassis
reads on at once, as a real BMC's does, and the machine boots that many seconds later.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script by ipmi_sim
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hastack.lab import bmc, qemu, relay  # noqa: E402


def drop_hosted_guests(lab: Path, hypervisor: str) -> None:
    for guest, hv in relay.read_placement(lab).items():
        if hv == hypervisor:
            files = relay.host_files(lab, guest)
            if qemu.status(files) == "on":
                qemu.power_off(files)


def power_on(lab: Path, host: str, files: qemu.HostFiles) -> None:
    """Chassis on now; the machine itself after the lab's self-test time, by a detached process
    (ipmi_sim waits for this program, and a BMC answers while its server is in POST)."""
    delay = bmc.post_seconds(lab)
    if qemu.status(files) == "on" or files.posting.exists():
        return
    if delay <= 0:
        qemu.power_on(files)
        return
    files.posting.write_text(f"{time.time() + delay:.3f}\n")
    subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(lab), host, "-", "post"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def finish_post(files: qemu.HostFiles) -> None:
    """Boot the host when its self-test is over, unless it was powered off meanwhile."""
    try:
        marker = files.posting.read_text()
        time.sleep(max(0.0, float(marker) - time.time()))
        if files.posting.read_text() != marker:
            return
    except (OSError, ValueError):
        return  # powered off during the self-test
    files.posting.unlink(missing_ok=True)
    qemu.power_on(files)


def main(argv: list[str]) -> int:
    lab, host, _device, op, *params = argv
    lab = Path(lab)
    files = relay.host_files(lab, host)
    if op == "post":
        finish_post(files)
        return 0
    if op == "get":
        for p in params:
            if p == "power":
                print(f"power:{1 if qemu.status(files) == 'on' or files.posting.exists() else 0}")
        return 0
    if op != "set" or len(params) % 2:
        print(f"unsupported: {op} {params}")
        return 1
    for name, value in zip(params[::2], params[1::2]):
        if name == "power" and value == "0":
            files.posting.unlink(missing_ok=True)
            qemu.power_off(files)
            drop_hosted_guests(lab, host)
        elif name == "power" and value == "1":
            power_on(lab, host, files)
        elif name == "reset" and value == "1":
            if not files.posting.exists():  # in its self-test, it boots anyway
                drop_hosted_guests(lab, host)
                qemu.reset(files)
        elif name == "boot":
            pass  # boot device selection: nothing to do, the lab boots its kernel directly
        else:
            print(f"unsupported: {name} {value}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
