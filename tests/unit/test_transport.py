"""The transports that need no host: the cluster as whichever member answers, the local runner."""
from __future__ import annotations

import pytest

from hastack.reports import CommandFailed, HastackError
from hastack.transport.failover import FailoverTransport
from hastack.transport.local import run_local
from hastack.transport.scripted import ScriptedTransport


class Unreachable(ScriptedTransport):
    def run(self, argv, stdin=None, **kwargs):
        self.calls.append("tried")
        raise HastackError("SSH_UNREACHABLE", f"{self.name}: no answer")


def test_the_cluster_moves_on_only_from_a_member_that_cannot_be_reached():
    down, up = Unreachable("node1"), ScriptedTransport("node2")
    assert FailoverTransport([down, up]).run(["cibadmin", "--query"]).exit_code == 0
    assert down.calls == ["tried"] and up.calls == ["cibadmin --query"]
    failing = ScriptedTransport("node1", fail_on="cibadmin")
    with pytest.raises(CommandFailed):  # the command ran there: never again elsewhere
        FailoverTransport([failing, up]).run(["cibadmin", "--query"])
    assert up.calls == ["cibadmin --query"]
    with pytest.raises(HastackError, match="CLUSTER_UNREACHABLE: no cluster node could be reached: SSH_UNREACHABLE: node1: no answer; "):
        FailoverTransport([down, Unreachable("node2")]).run(["cibadmin", "--query"])


def test_the_local_runner_names_the_command_its_exit_code_and_stderr():
    assert run_local(["sh", "-c", "cat; echo err >&2", "sh"], "in").stdout == "in"
    assert run_local(["sh", "-c", "exit 1"], ok_rc=(0, 1)).exit_code == 1
    with pytest.raises(CommandFailed) as caught:
        run_local(["sh", "-c", "echo nope >&2; exit 3"])
    assert str(caught.value) == "COMMAND_FAILED: on local: `sh -c 'echo nope >&2; exit 3'` exited 3: nope"
