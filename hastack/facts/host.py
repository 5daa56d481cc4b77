"""Facts about a host itself, each a command beside the function that reads its output."""
from __future__ import annotations

from hastack.reports import HastackError

UNAME = ("uname", "-n")


def check_uname(node: str, wanted: str, output: str) -> None:
    """The host must be the `uname -n` the config names: drbdadm picks its on-section by it, and
    DRBD's fence handler writes it into its constraint, where it must equal the Pacemaker name."""
    seen = output.strip()
    if seen != wanted:
        raise HastackError("NODE_NAME_MISMATCH", (
            f"{node}: `uname -n` is {seen!r}, but the config gives fqdn {wanted!r}. DRBD finds its "
            "on-section and Pacemaker names the node by `uname -n`, and DRBD's fence handler compares "
            f"the two; set that node's fqdn to {seen!r}, or name the host `hostnamectl set-hostname "
            f"{wanted}`. Nothing was changed on any host"))
