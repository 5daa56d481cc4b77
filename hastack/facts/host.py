"""Facts about a host itself, each a command beside the function that reads its output."""
from __future__ import annotations

import re
from dataclasses import dataclass

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


# ---- what a host runs: the cluster software's versions and its network, in one round trip ----------
# Each line "<what> <value>": versions as the tools print them (empty when absent), then every
# address and link as `ip -o` prints them, then the host's bridges.  $@: the commands that must exist.
HOST_SURVEY = r'''for t in "$@"; do command -v "$t" >/dev/null 2>&1 || echo "missing $t"; done
first() { "$@" 2>/dev/null | head -n 1; }
echo "pacemaker $(first pacemakerd --version)"
echo "corosync $(first corosync -v)"
echo "drbd-utils $(drbdadm --version 2>/dev/null | sed -n 's/^DRBDADM_VERSION=//p')"
echo "drbd-kernel $( (sed -n '1s/^version: \([^ ]*\).*/\1/p' /proc/drbd; modinfo -F version drbd) 2>/dev/null | head -n 1)"
echo "libvirt $(first virsh --version)"
ip -o addr show | sed 's/^/addr /'
ip -o link show | sed 's/^/link /'
for b in /sys/class/net/*/bridge; do [ -d "$b" ] && b=${b%/bridge} && echo "bridge ${b##*/}"; done
exit 0'''


def survey_argv(commands: tuple[str, ...]) -> tuple[str, ...]:
    return ("sh", "-c", HOST_SURVEY, "sh", *commands)


@dataclass(frozen=True)
class HostSurvey:
    missing: tuple[str, ...]  # commands not on PATH
    versions: dict[str, str]  # pacemaker, corosync, drbd-utils, drbd-kernel, libvirt -> "2.1.5" ("" absent)
    addresses: dict[str, str]  # IPv4 address -> the interface holding it
    mtu: dict[str, int]  # interface -> its MTU
    bridges: tuple[str, ...]


VERSION = re.compile(r"\d+(?:\.\d+)+")


def parse_host_survey(text: str) -> HostSurvey:
    missing, versions, addresses, mtu, bridges = [], {}, {}, {}, []
    for line in text.splitlines():
        what, _, rest = line.partition(" ")
        fields = rest.split()
        if what == "missing":
            missing.append(rest.strip())
        elif what == "addr" and len(fields) >= 4 and fields[2] == "inet":  # "6: br-mgmt inet 10.77.0.21/24 ..."
            addresses[fields[3].split("/")[0]] = fields[1]
        elif what == "link" and "mtu" in fields:  # "6: br-mgmt: <...> mtu 1500 ..."; "3: eth0@if7: ..."
            mtu[fields[1].rstrip(":").split("@")[0]] = int(fields[fields.index("mtu") + 1])
        elif what == "bridge":
            bridges.append(rest.strip())
        elif what in ("pacemaker", "corosync", "drbd-utils", "drbd-kernel", "libvirt"):
            found = VERSION.search(rest)
            versions[what] = found.group(0) if found else ""
    return HostSurvey(tuple(missing), versions, addresses, mtu, tuple(bridges))


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")) if text else ()
