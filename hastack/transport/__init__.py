"""Transports run plan steps and probes: over SSH (ssh.py), on this machine (local.py), from a
script in tests (scripted.py); the cluster's CIB through whichever member answers (failover.py)."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable, Protocol


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str


class Transport(Protocol):
    name: str

    def run(self, argv: tuple[str, ...] | list[str], stdin: bytes | None = None, *,
            ok_rc: tuple[int, ...] = (0,), secret_stdin: bool = False) -> Result: ...

    def put(self, path: str, content: bytes, mode: int = 0o644) -> None: ...

    def read(self, path: str) -> bytes | None: ...


# Error codes of a host that did not answer at all (nothing ran): safe to retry or fail over.
UNREACHABLE = ("SSH_UNREACHABLE", "SSH_CONNECT")


def shown(argv) -> str:
    """An argv as the operator reads it in errors and logs (secrets never reach argv)."""
    return shlex.join(list(argv))


# Writes a file atomically (temp file + rename) with the given mode; path and mode are $1, $2.
# The parent directory is created if missing (root-owned, 0755: what it holds carries its own mode).
# `mv -T`: a directory standing where the file belongs is an error, not a place to move into.
PUT_SCRIPT = ('set -e; mkdir -p -- "$(dirname -- "$1")"; t=$(mktemp "$1.hastack.XXXXXX"); trap \'rm -f "$t"\' EXIT; cat > "$t"; chmod "$2" "$t"; '
              'mv -f -T "$t" "$1"; trap - EXIT')


def put_argv(path: str, mode: int) -> list[str]:
    return ["sh", "-c", PUT_SCRIPT, "sh", path, format(mode, "o")]


TransportFor = Callable[[str], Transport]  # a node name, or plan.CLUSTER -> its transport


def node_transports(nodes) -> TransportFor:
    """The transports of a resource's nodes (each with `.name` and `.ssh`, as in its props): one
    pooled SSH transport per node, and the cluster as the first of them that answers."""
    from hastack.plan import CLUSTER
    from hastack.transport.failover import FailoverTransport
    from hastack.transport.ssh import SshTarget, SshTransport  # paramiko only where SSH is used

    by_name = {n.name: SshTransport.pooled(SshTarget.from_props(n.name, n.ssh)) for n in nodes}
    cluster = FailoverTransport(list(by_name.values()))
    return lambda target: cluster if target == CLUSTER else by_name[target]
