"""apply_live on scripted hosts: a Together's lanes run at once, and a lane's failure leaves the
other lanes to finish and says exactly what each node did."""
from __future__ import annotations

import threading

import pytest

from hastack.apply import apply_live
from hastack.plan import Run, on, sequential, together
from hastack.reports import HastackError
from hastack.transport.scripted import ScriptedTransport


class Meeting(ScriptedTransport):
    """A host whose `meet` waits until every other host has reached its own `meet`."""

    def __init__(self, name, barrier: threading.Barrier, fail_on=None):
        super().__init__(name, fail_on=fail_on)
        self.barrier = barrier

    def run(self, argv, stdin=None, *, ok_rc=(0,), secret_stdin=False):
        if argv[0] == "meet":
            self.barrier.wait(timeout=5)  # BrokenBarrierError if the other lane did not run meanwhile
        return super().run(argv, stdin, ok_rc=ok_rc, secret_stdin=secret_stdin)


def test_the_lanes_of_a_together_run_at_once_and_the_plan_goes_on_after_both():
    barrier = threading.Barrier(2)
    hosts = {n: Meeting(n, barrier) for n in ("node1", "node2")}
    plan = together({n: (Run(("meet",)), Run(("after", n))) for n in hosts}) + on("node1", Run(("last",)))
    done = apply_live(plan, hosts.__getitem__)
    assert hosts["node1"].calls == ["meet", "after node1", "last"] and hosts["node2"].calls == ["meet", "after node2"]
    assert done[-1] == "node1: last" and len(done) == 5


def test_a_failed_lane_lets_the_other_finish_and_the_error_says_what_each_node_did():
    hosts = {"node1": ScriptedTransport("node1", fail_on="second"), "node2": ScriptedTransport("node2")}
    plan = together({n: (Run(("first",)), Run(("second",)), Run(("third",))) for n in ("node1", "node2")}) \
        + on("node1", Run(("last",)))
    hosts["node2"].fail_on = None
    with pytest.raises(HastackError) as failed:
        apply_live(plan, hosts.__getitem__)
    message = failed.value.message
    assert hosts["node2"].calls == ["first", "second", "third"]  # not cut off between two steps
    assert hosts["node1"].calls == ["first", "second"]
    assert "applied before the failure: ['node1: first', 'node2: first', 'node2: second', 'node2: third']" in message
    assert "failed: node1: second" in message
    assert "not applied: ['node1: third', 'node1: last']" in message


def test_one_node_is_no_together_and_sequential_lays_the_lanes_out_in_node_order():
    assert together({"node1": (Run(("a",)),)}) == on("node1", Run(("a",)))
    plan = together({"node2": (Run(("a",)),), "node1": (Run(("b",)), Run(("c",)))})
    assert [(t, s.argv) for t, s in sequential(plan)] == [("node2", ("a",)), ("node1", ("b",)), ("node1", ("c",))]
