"""Drive the real Pacemaker scheduler (crm_simulate) over a rendered CIB.

The rendered CIB has no status; `boot` brings the nodes up with quorum, and each round runs one
transition.  DRBD's agent sets promotion scores at run time, which a simulation cannot do, so
`promotion_scores` injects them as the agent would (10000 for an UpToDate disk).
"""
from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from hastack.facts.status import parse_crm_mon
from hastack.reports import CommandFailed, HastackError
from hastack.transport.local import run_local

ACTION = re.compile(r"^\s*\* (Resource action|Pseudo action|Fencing|Cluster action):?\s+(.*)$")


@dataclass(frozen=True)
class Round:
    summary: tuple[str, ...]  # the "Transition Summary" lines
    actions: tuple[str, ...]  # executed actions, in the order the simulation ran them


def _run(argv: list[str], env: dict | None = None) -> str:
    try:
        return run_local(argv, env=env).stdout
    except CommandFailed as failed:
        raise HastackError("SIMULATE_FAILED", f"{' '.join(argv)}: {failed.stderr.strip()[-1500:]}") from None


def with_quorum(cib_xml: str) -> str:
    root = ET.fromstring(cib_xml)
    root.set("have-quorum", "1")
    return ET.tostring(root, encoding="unicode")


def set_node_attributes(cib_xml: str, attributes: dict[str, dict[str, str]]) -> str:
    """Transient (status) node attributes, e.g. {'node1': {'master-drbd-pg1': '10000'}}."""
    root = ET.fromstring(cib_xml)
    status = root.find("status")
    for node_state in status.findall("node_state"):
        node = node_state.get("uname")
        if node not in attributes:
            continue
        transient = node_state.find("transient_attributes")
        if transient is None:
            transient = ET.SubElement(node_state, "transient_attributes", id=node_state.get("id"))
        attrs = transient.find("instance_attributes")
        if attrs is None:
            attrs = ET.SubElement(transient, "instance_attributes", id=f"status-{node_state.get('id')}")
        for name, value in attributes[node].items():
            for old in [nv for nv in attrs.findall("nvpair") if nv.get("name") == name]:
                attrs.remove(old)
            ET.SubElement(attrs, "nvpair", id=f"status-{node}-{name}", name=name, value=value)
    return ET.tostring(root, encoding="unicode")


def parse_round(text: str) -> Round:
    summary, actions, section = [], [], None
    for line in text.splitlines():
        if line.startswith("Transition Summary:"):
            section = "summary"
            continue
        if line.startswith("Executing Cluster Transition:"):
            section = "actions"
            continue
        if line.startswith("Revised Cluster Status:"):
            section = None
        if section == "summary" and line.strip().startswith("*"):
            summary.append(" ".join(line.strip()[1:].split()))
        elif section == "actions":
            match = ACTION.match(line)
            if match:
                actions.append(" ".join(f"{match.group(1)}: {match.group(2)}".split()))
    return Round(tuple(summary), tuple(actions))


class Simulation:
    """A CIB file being advanced transition by transition."""

    def __init__(self, cib_xml: str):
        self._dir = tempfile.TemporaryDirectory(prefix="hastack-sim-")
        self.path = Path(self._dir.name) / "cib.xml"
        self.path.write_text(with_quorum(cib_xml))
        self.rounds: list[Round] = []

    def step(self, *events: str) -> Round:
        """One transition; `events` are crm_simulate options such as ('-u', 'node1')."""
        out = self.path.with_name("next.xml")
        text = _run(["crm_simulate", "-x", str(self.path), "-S", "-O", str(out), *events])
        out.replace(self.path)
        result = parse_round(text)
        self.rounds.append(result)
        return result

    def settle(self, max_rounds: int = 8) -> list[Round]:
        """Run transitions until one has nothing to do."""
        done = []
        for _ in range(max_rounds):
            result = self.step()
            done.append(result)
            if not result.actions:
                return done
        raise HastackError("SIMULATE_NO_CONVERGENCE", f"still acting after {max_rounds} transitions")

    def set_attributes(self, attributes: dict[str, dict[str, str]]) -> None:
        self.path.write_text(set_node_attributes(self.path.read_text(), attributes))

    def status(self) -> dict:
        """Where each resource runs and in which role, read with crm_mon from the CIB file."""
        return parse_crm_mon(self.status_xml())

    def status_xml(self) -> str:
        """What `crm_mon -1 --output-as=xml` says of the CIB file (as it would on a live node)."""
        return _run(["crm_mon", "-1", "--output-as=xml"], env=dict(os.environ, CIB_file=str(self.path)))

    def close(self) -> None:
        self._dir.cleanup()
