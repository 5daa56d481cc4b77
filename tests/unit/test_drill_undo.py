"""Lifting a drill's partition while a fence reboots hosts (H2a's crash: the partitioned guest
answered one probe and then vanished into its reboot)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from hastack.drill import run
from hastack.reports import HastackError


class RebootingHosts:
    """Hosts by name: how many more calls each fails (a host in its reboot), or None for never answers."""

    def __init__(self, failures: dict[str, int | None]):
        self.failures, self.lifted = dict(failures), []

    def sh(self, node, script, *args):
        left = self.failures.get(node, 0)
        if left is None or left > 0:
            if left:
                self.failures[node] = left - 1
            raise HastackError("SSH_CHANNEL", f"{node}: Timeout opening channel")
        assert script == run.UNPARTITION
        self.lifted.append(node)


ROLES = run.Roles("pg1", "pg2", "node1", "node2")


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(run.time, "sleep", lambda s: None)


def drill(hosts):
    said = []
    return SimpleNamespace(h=hosts, log=said.append), said


def test_the_partitioned_node_is_waited_for_through_its_reboot(no_sleep):
    hosts = RebootingHosts({"pg1": 3})
    d, said = drill(hosts)
    run._lift_partitions(d, ROLES, "pg1")
    assert hosts.lifted == ["pg1", "node1", "node2", "pg2"]
    assert any("pg1 does not answer yet" in line for line in said)


def test_another_node_that_does_not_answer_is_said_and_skipped(no_sleep):
    hosts = RebootingHosts({"node1": None})
    d, said = drill(hosts)
    run._lift_partitions(d, ROLES, "pg1")
    assert hosts.lifted == ["pg1", "node2", "pg2"]
    assert any(line.startswith("drill: node1 did not answer (SSH_CHANNEL)") for line in said)


def test_a_partitioned_node_that_never_answers_fails_the_undo_with_the_command_to_run(no_sleep, monkeypatch):
    clock = iter(range(0, 10_000, 30))
    monkeypatch.setattr(run.time, "monotonic", lambda: next(clock))
    d, _said = drill(RebootingHosts({"node1": None}))
    with pytest.raises(HastackError) as e:
        run._lift_partitions(d, ROLES, "node1", limit_s=120)
    assert e.value.code == "DRILL_UNDO"
    assert "within 120s" in e.value.message and "iptables -D INPUT -j HASTACK-DRILL" in e.value.message


def test_each_partition_scenario_lifts_the_node_it_cut():
    calls = []
    d = SimpleNamespace(h=SimpleNamespace(sh=lambda node, script: calls.append(node)), log=print)
    run.UNDO["guest_partition"](d, ROLES)
    run.UNDO["hypervisor_partition"](d, ROLES)
    assert calls[0] == "pg1" and calls[4] == "node1"


def test_h2b_cuts_the_rings_only_once_the_fence_devices_restarted_with_the_swapped_delay():
    """Live, 2026-12-03: cut 5 s after the swap, node1's fence waited 3 min for its device's
    restart and node2 fenced node1 first, against the swapped tiebreaker."""
    calls = []
    hosts = SimpleNamespace(run=lambda node, argv, **kw: calls.append((node, tuple(argv))),
                            sh=lambda node, script, *args: calls.append((node, script == run.PARTITION, args)))
    d = SimpleNamespace(h=hosts, log=lambda line: None, _swap_tiebreaker=lambda to, roles: calls.append(("swap", to)),
                        _ring_addresses=lambda layer, node: [f"{node}-ring"])
    run._hypervisor_partition_swapped(d, ROLES)
    assert calls == [("swap", "hv0"), ("node1", ("crm_resource", "--wait", "--timeout", run.SETTLE_TIMEOUT)),
                     ("node1", True, ("node2-ring",))]
