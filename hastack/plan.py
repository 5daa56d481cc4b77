"""Steps as data.  Providers build plans with pure functions; `apply` is the only side effect.

A plan is a tuple of (target, step): target is a node name, CLUSTER for the cluster's CIB, or
NODES for a Together (steps on several nodes that do not wait for each other).
"""
from __future__ import annotations

from dataclasses import dataclass, field

CLUSTER = "@cluster"
NODES = "@nodes"


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    stdin: bytes | None = None
    ok_rc: tuple[int, ...] = (0,)
    secret_stdin: bool = False  # never logged, never rendered
    # Its output is what it says to the operator (what it skipped, and why): each line of its
    # stdout is shown by `up` and recorded in the resource's `notes` output.
    notes: bool = False


@dataclass(frozen=True)
class Put:
    path: str
    content: bytes
    mode: int = 0o644
    secret: bool = False


@dataclass(frozen=True)
class Remove:
    path: str


@dataclass(frozen=True)
class CibEdit:
    """pcs commands applied to a copy of the CIB, pushed as one patch (or rendered into a file)."""

    commands: tuple[tuple[str, ...], ...]
    secrets: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


Step = Run | Put | Remove | CibEdit
Plan = tuple[tuple[str, Step], ...]


@dataclass(frozen=True)
class Together:
    """Host steps on several nodes that do not depend on each other: each node's lane in order,
    the lanes at once; the plan goes on when every lane has ended."""

    lanes: tuple[tuple[str, tuple[Run | Put | Remove, ...]], ...]


def on(target: str, *steps: Step) -> Plan:
    return tuple((target, step) for step in steps)


def together(lanes: dict[str, tuple[Run | Put | Remove, ...]]) -> Plan:
    """One step running each node's steps at once; with one node, just its steps."""
    lanes = {node: tuple(steps) for node, steps in lanes.items() if steps}
    if len(lanes) < 2:
        return tuple(entry for node, steps in lanes.items() for entry in on(node, *steps))
    return ((NODES, Together(tuple(lanes.items()))),)


def sequential(plan) -> Plan:
    """The plan with each Together laid out lane after lane: as render writes it, as it reads."""
    out = []
    for target, step in plan:
        if isinstance(step, Together):
            out += [(node, s) for node, steps in step.lanes for s in steps]
        else:
            out.append((target, step))
    return tuple(out)
