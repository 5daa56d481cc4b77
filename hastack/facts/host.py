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


PROC_DRBD = ("cat", "/proc/drbd")  # DRBD 8.4's one-line state per minor (9 has `drbdadm status`)


def parse_proc_drbd(text: str) -> dict[int, dict[str, str]]:
    """{minor: {"cs": connection, "ro": "Local/Peer" role, "ds": "Local/Peer" disk state}} from
    DRBD 8.4's /proc/drbd, e.g. ` 2: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----`."""
    states: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        head, _, rest = line.strip().partition(": ")
        if not head.isdigit() or "cs:" not in rest:
            continue
        states[int(head)] = dict(field.split(":", 1) for field in rest.split() if field[:3] in ("cs:", "ro:", "ds:"))
    return states


def replication_problem(states: dict[int, dict[str, str]], minor: int) -> str | None:
    """Why `minor` does not hold two current copies (None when it does): a resync, a lost peer or
    a missing device all mean one more failure loses the data or the service."""
    state = states.get(minor)
    if state is None:
        return "not configured"
    if state.get("cs") != "Connected" or state.get("ds") != "UpToDate/UpToDate":
        return " ".join(state.get(k, "") for k in ("cs", "ds")).strip()
    return None
