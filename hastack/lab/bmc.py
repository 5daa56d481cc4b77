"""One OpenIPMI ipmi_sim per hypervisor, inside the lab namespace on the management bridge.

Chassis power commands run hastack/lab/chassis.py, which acts on the node's qemu by QMP.
"""
from __future__ import annotations

import hashlib
import shlex
import sys
from pathlib import Path

from hastack.lab.paths import PACKAGE_DIR
from hastack.lab.topology import BMC_CIPHER, BMC_PASSWORD, BMC_USER, POST_SECONDS, Host

EMU_COMMANDS = """\
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
"""


def bmc_dir(lab: Path, h: Host) -> Path:
    return lab / "bmc" / h.name


def post_file(lab: Path) -> Path:
    """The lab's firmware self-test time in seconds, read by every BMC power-on."""
    return lab / "bmc" / "post-seconds"


def post_seconds(lab: Path) -> float:
    try:
        return max(0.0, float(post_file(lab).read_text()))
    except (OSError, ValueError):
        return 0.0


def lan_conf(h: Host, chassis_program: Path, user: str = BMC_USER, password: str = BMC_PASSWORD) -> str:
    guid = hashlib.md5(f"hastack-lab-bmc-{h.name}".encode()).hexdigest()
    auths = "none md2 md5 straight"
    return "\n".join([
        f'name "hastack-lab-{h.name}"',
        "set_working_mc 0x20",
        "  startlan 1",
        f"    addr {h.bmc_address} 623",
        "    priv_limit admin",
        *(f"    allowed_auths_{lvl} {auths}" for lvl in ("callback", "user", "operator", "admin")),
        f"    guid {guid}",
        "  endlan",
        f'  chassis_control "{chassis_program} 0x20"',
        f'  user 2 true "{user}" "{password}" admin 10 {auths}',
        "",
    ])


def chassis_wrapper(lab: Path, h: Host) -> str:
    """A two-line script ipmi_sim can run (its config cannot quote arguments)."""
    argv = [sys.executable, str(PACKAGE_DIR / "chassis.py"), str(lab), h.name]
    return "#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in argv) + ' "$@"\n'


def write_config(lab: Path, h: Host) -> Path:
    d = bmc_dir(lab, h)
    (d / "state").mkdir(parents=True, exist_ok=True)
    wrapper = d / "chassis"
    wrapper.write_text(chassis_wrapper(lab, h))
    wrapper.chmod(0o755)
    (d / "lan.conf").write_text(lan_conf(h, wrapper))
    (d / "lan.conf").chmod(0o600)
    (d / "cmd.emu").write_text(EMU_COMMANDS)
    post_file(lab).write_text(f"{POST_SECONDS:g}\n")
    return d


def ipmi_sim_argv(lab: Path, h: Host) -> list[str]:
    d = bmc_dir(lab, h)
    return ["ipmi_sim", "-n", "-c", str(d / "lan.conf"), "-f", str(d / "cmd.emu"), "-s", str(d / "state")]


def ipmitool_argv(h: Host, *command: str, user: str = BMC_USER, password: str = BMC_PASSWORD) -> list[str]:
    # -E: the password comes from IPMI_PASSWORD in the environment, not from the command line.
    return ["ipmitool", "-I", "lanplus", "-C", str(BMC_CIPHER), "-H", str(h.bmc_address),
            "-U", user, "-E", *command]
