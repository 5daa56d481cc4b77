"""`up` waits for an enabled resource to run: real crm_mon output of a simulated cluster, read
the way the provider reads a live one."""
from __future__ import annotations

import pytest

from hastack.reports import HastackError
from hastack.start_wait import wait_until_running
from hastack.simulate import Simulation
from hastack.transport import Result
from tests.conftest import FakeClock

pytestmark = pytest.mark.tools


class CrmMonAnswers:
    """Answers each `crm_mon` with the next of the given outputs (the last one repeats)."""

    name = "node1/node2"

    def __init__(self, *outputs: str):
        self.outputs, self.calls = list(outputs), 0

    def run(self, argv, stdin=None, **_):
        assert argv[0] == "crm_mon"
        self.calls += 1
        out = self.outputs[min(self.calls, len(self.outputs)) - 1]
        return Result(0, out, "")


def _booted(cib_xml: str) -> Simulation:
    """Both nodes up, gw1's disk UpToDate on both (as the drbd agent reports it)."""
    sim = Simulation(cib_xml)
    sim.step("-u", "node1", "-u", "node2")
    sim.set_attributes({n: {"master-drbd-gw1": "10000"} for n in ("node1", "node2")})
    return sim


def test_returns_where_the_resource_runs_once_it_runs(lab5_render):
    sim = _booted((lab5_render / "hypervisor/cib.xml").read_text())
    sim.settle()
    before = Simulation((lab5_render / "hypervisor/cib.xml").read_text())  # nothing runs yet
    cluster, clock = CrmMonAnswers(before.status_xml(), before.status_xml(), sim.status_xml()), FakeClock()
    assert wait_until_running(cluster, "gw1-vm", 60, clock=clock, sleep=clock.sleep) == ["node1"]
    assert cluster.calls == 3 and clock.now == 20


def test_a_resource_that_fails_to_start_everywhere_is_reported_with_its_failed_actions(lab5_render):
    sim = _booted((lab5_render / "hypervisor/cib.xml").read_text())
    for _ in range(4):  # each start of gw1-vm fails, on either node: it stays FAILED (active)
        sim.step("-F", "gw1-vm_start_0@node1=1", "-F", "gw1-vm_start_0@node2=1")
    cluster, clock = CrmMonAnswers(sim.status_xml()), FakeClock()
    with pytest.raises(HastackError) as caught:
        wait_until_running(cluster, "gw1-vm", 600, clock=clock, sleep=clock.sleep)
    message = str(caught.value)
    assert caught.value.code == "NOT_RUNNING" and "within 600 s (now: Started on node" in message
    assert "FAILED)" in message
    assert "start on node1: complete (exit 1 error, User-injected result)" in message, message
    assert "crm_resource --cleanup --resource gw1-vm" in message and "node1/node2" in message
    assert clock.now >= 600


def test_a_probe_or_start_in_progress_is_not_running_yet(lab5_render):
    """crm_mon shows a resource whose probe or start is in flight as active, role Started, with
    pending="Monitoring" or "Starting" (both seen live on the lab)."""
    import re

    sim = _booted((lab5_render / "hypervisor/cib.xml").read_text())
    sim.settle()
    running = sim.status_xml()
    probing, count = re.subn(r'(<resource id="gw1-vm"[^>]*nodes_running_on="1")', r'\1 pending="Monitoring"', running)
    assert count == 1
    starting = probing.replace('pending="Monitoring"', 'pending="Starting"')
    cluster, clock = CrmMonAnswers(probing, starting, running), FakeClock()
    assert wait_until_running(cluster, "gw1-vm", 60, clock=clock, sleep=clock.sleep) == ["node1"]
    assert cluster.calls == 3
