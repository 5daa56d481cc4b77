"""Steps as data.  Providers build plans with pure functions; `apply` is the only side effect.

A plan is a tuple of (target, step): target is a node name, or CLUSTER for the cluster's CIB.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CLUSTER = "@cluster"


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    stdin: bytes | None = None
    ok_rc: tuple[int, ...] = (0,)
    secret_stdin: bool = False  # never logged, never rendered


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


def on(target: str, *steps: Step) -> Plan:
    return tuple((target, step) for step in steps)
