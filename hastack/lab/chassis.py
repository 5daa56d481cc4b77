"""Chassis control program that the lab's ipmi_sim runs for IPMI power commands.

    chassis.py LABDIR HOST DEVICE get power
    chassis.py LABDIR HOST DEVICE set power 0|1 [reset 1] ...

Acts on the host's qemu through QMP. A hypervisor powered off or reset through its BMC fires
no libvirt hook, so the guests the relay last placed on it are powered off here as well.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by ipmi_sim
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hastack.lab import qemu, relay  # noqa: E402


def drop_hosted_guests(lab: Path, hypervisor: str) -> None:
    for guest, hv in relay.read_placement(lab).items():
        if hv == hypervisor:
            files = relay.host_files(lab, guest)
            if qemu.status(files) == "on":
                qemu.power_off(files)


def main(argv: list[str]) -> int:
    lab, host, _device, op, *params = argv
    lab = Path(lab)
    files = relay.host_files(lab, host)
    if op == "get":
        for p in params:
            if p == "power":
                print(f"power:{1 if qemu.status(files) == 'on' else 0}")
        return 0
    if op != "set" or len(params) % 2:
        print(f"unsupported: {op} {params}")
        return 1
    for name, value in zip(params[::2], params[1::2]):
        if name == "power" and value == "0":
            qemu.power_off(files)
            drop_hosted_guests(lab, host)
        elif name == "power" and value == "1":
            qemu.power_on(files)
        elif name == "reset" and value == "1":
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
