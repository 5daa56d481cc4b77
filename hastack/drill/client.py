"""Where a drill's client runs: on a node of the stack, or (the lab) in the lab's network
namespace on this machine.

The client writes through the VIP and pings every host once a second.  On an emulated survivor
that loop is itself a load (a psql and four pings a second) and its samples came 8-12 s apart
while the survivor took over (2026-12-02); from the lab's namespace it costs the hosts nothing,
and it still reaches them only over the lab's own management network.
"""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from hastack.reports import CommandFailed, HastackError

NODE_WORK = "/run/hastack-drill"


class NodeSite:
    """The client on a node of the stack, over the drill's SSH transports."""

    def __init__(self, hosts, name: str):
        self.hosts, self.name, self.work, self.label = hosts, name, NODE_WORK, name

    def run(self, argv: list[str]) -> str:
        return self.hosts.run(self.name, argv)

    def put(self, path: str, content: bytes, mode: int) -> None:
        self.hosts.put(self.name, path, content, mode)


class LabNamespaceSite:
    """The client on this machine, inside the running lab's network namespace."""

    label = "the lab's network namespace"

    def __init__(self):
        from hastack.lab import lab, netns

        state = lab.load_state(lab.lab_dir())
        if not lab.anchor_alive(state):
            raise HastackError("DRILL_CLIENT", "drills.client_on is `lab`, but no lab runs on this machine: "
                               "start it with `python -m hastack lab up`, or name a node of the stack")
        self._in_ns = lambda argv: netns.in_ns(state["anchor"], argv)
        self.work = str(lab.lab_dir() / "drill-client")

    def run(self, argv: list[str]) -> str:
        r = subprocess.run(self._in_ns(argv), capture_output=True, text=True)
        if r.returncode != 0:
            raise CommandFailed(self.label, shlex.join(argv), r.returncode, r.stderr, r.stdout)
        return r.stdout

    def put(self, path: str, content: bytes, mode: int) -> None:
        p = Path(path)
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        p.touch(mode=mode)
        p.chmod(mode)
        p.write_bytes(content)


def site_for(client_on: str | None, hosts, default_node: str):
    if client_on == "lab":
        return LabNamespaceSite()
    return NodeSite(hosts, client_on or default_node)
