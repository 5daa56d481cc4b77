"""`up` waits for an enabled resource to run: real crm_mon output of a simulated cluster, read
the way the provider reads a live one."""
from __future__ import annotations

import os
import subprocess

import pytest

from hastack.reports import HastackError
from hastack.start_wait import wait_until_running
from hastack.simulate import Simulation
from hastack.transport import Result
from hastack.transport.local import run_local
from tests.conftest import FakeClock

pytestmark = pytest.mark.tools


class CrmMonAnswers:
    """Answers each `crm_mon` with the next of the given outputs (the last one repeats); the
    scheduler's scores and the constraints come from the real crm_simulate and cibadmin run on
    SIM's CIB file, as they would on a live node."""

    name = "node1/node2"

    def __init__(self, *outputs: str, sim: Simulation | None = None):
        self.outputs, self.calls, self.sim = list(outputs), 0, sim

    def run(self, argv, stdin=None, **_):
        if argv[0] == "crm_simulate":
            assert list(argv) == ["crm_simulate", "-Ls"] and self.sim is not None
            return Result(0, run_local(["crm_simulate", "-x", str(self.sim.path), "-s"]).stdout, "")
        if argv[0] == "cibadmin":
            return Result(0, run_local(argv, env=dict(os.environ, CIB_file=str(self.sim.path))).stdout, "")
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
    cluster, clock = CrmMonAnswers(sim.status_xml(), sim=sim), FakeClock()
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


def test_a_resource_held_back_by_its_drbd_says_so_from_the_schedulers_scores(lab5_render):
    """Both nodes up but no disk UpToDate (the drbd agent gives no promotion score): gw1-vm stays
    Stopped with no failed action, and only the scheduler's scores say why."""
    sim = Simulation((lab5_render / "hypervisor/cib.xml").read_text())
    sim.step("-u", "node1", "-u", "node2")
    sim.settle()
    cluster, clock = CrmMonAnswers(sim.status_xml(), sim=sim), FakeClock()
    with pytest.raises(HastackError) as caught:
        wait_until_running(cluster, "gw1-vm", 60, clock=clock, sleep=clock.sleep)
    message = str(caught.value)
    assert "(now: Stopped); failed actions: none" in message
    assert "gw1-vm allocation score: node1 -INFINITY, node2 -INFINITY" in message, message
    assert "drbd-gw1 may be promoted nowhere (promotion score: drbd-gw1:0 on node1 -1" in message, message
    assert "fence-handler" not in message


def test_a_drbd_fence_handler_constraint_is_named(lab5_render):
    sim = _booted((lab5_render / "hypervisor/cib.xml").read_text())
    rule = ('<rsc_location id="drbd-fence-by-handler-gw1-drbd-gw1-clone" rsc="drbd-gw1-clone">'
            '<rule id="drbd-fence-by-handler-gw1-rule" role="Promoted" score="-INFINITY">'
            '<expression id="drbd-fence-by-handler-gw1-expr" attribute="#uname" operation="ne" value="node9"/>'
            '</rule></rsc_location>')
    subprocess.run(["cibadmin", "--create", "--scope", "constraints", "--xml-text", rule],
                   env=dict(os.environ, CIB_file=str(sim.path)), check=True, capture_output=True)
    sim.settle()
    cluster, clock = CrmMonAnswers(sim.status_xml(), sim=sim), FakeClock()
    with pytest.raises(HastackError) as caught:
        wait_until_running(cluster, "gw1-vm", 60, clock=clock, sleep=clock.sleep)
    message = str(caught.value)
    assert "DRBD fence-handler constraints in the CIB: drbd-fence-by-handler-gw1-drbd-gw1-clone" in message, message
    assert "drbd-gw1 may be promoted nowhere (promotion score: drbd-gw1:0 on node1 -INFINITY" in message, message



def test_crm_mon_of_a_cib_file_has_no_dc_so_no_quorum(lab5_render):
    """The drill leaves out a view without quorum (facts.status); crm_mon of a CIB file, as a
    node electing its DC, names no DC: that view counts as one without quorum."""
    from hastack.facts.status import parse_crm_mon

    sim = _booted((lab5_render / "hypervisor/cib.xml").read_text())
    assert '<current_dc present="false"/>' in sim.status_xml()
    assert parse_crm_mon(sim.status_xml())["quorate"] is False
