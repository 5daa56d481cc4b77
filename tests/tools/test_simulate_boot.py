"""The real scheduler on the rendered CIBs: a fresh cluster puts every VM on its preferred node,
after its DRBD clone is promoted there; the guest chain follows the promoted pgdata."""
from __future__ import annotations

import pytest

from hastack.facts.status import running_on
from hastack.simulate import Simulation

pytestmark = pytest.mark.tools


def boot(cib_xml: str, nodes: list[str], drbd_resources: list[str]) -> Simulation:
    sim = Simulation(cib_xml)
    sim.step(*[arg for node in nodes for arg in ("-u", node)])
    # What the drbd agent reports for an UpToDate disk on each node.
    sim.set_attributes({node: {f"master-drbd-{r}": "10000" for r in drbd_resources} for node in nodes})
    sim.settle()
    return sim


def test_each_vm_starts_on_its_preferred_node_after_promotion(lab5_render, lab5_config):
    vms = [vm.name for vm in lab5_config.vms]
    n1, n2 = (n.pacemaker_name for n in lab5_config.hypervisor.nodes)
    sim = boot((lab5_render / "hypervisor/cib.xml").read_text(), [n1, n2], vms)
    status = sim.status()
    actions = [a for r in sim.rounds for a in r.actions]
    for vm in lab5_config.vms:
        home = lab5_config.preferred_pacemaker_node(vm)
        assert running_on(status, f"{vm.name}-vm") == [home]
        assert running_on(status, f"drbd-{vm.name}", "Promoted") == [home]
        promote = actions.index(f"Resource action: drbd-{vm.name} promote on {home}")
        start = actions.index(f"Resource action: {vm.name}-vm start on {home}")
        assert promote < start, f"{vm.name}-vm started before its disk was promoted"
    # Fence devices run away from the node they fence.
    assert running_on(status, "fence-node1") == [n2]
    assert running_on(status, "fence-node2") == [n1]


def test_guest_chain_follows_the_promoted_disk(lab5_render, lab5_config):
    sim = boot((lab5_render / "guest/cib.xml").read_text(), [n.pacemaker_name for n in lab5_config.guest.nodes],
               ["pgdata"])
    status = sim.status()
    primary = running_on(status, "drbd-pgdata", "Promoted")
    assert len(primary) == 1
    for resource in ("pgdata-fs", "pgsql", "pgvip"):
        assert running_on(status, resource) == primary
    actions = [a for r in sim.rounds for a in r.actions]
    node = primary[0]
    order = [actions.index(f"Resource action: {a} on {node}") for a in
             ("drbd-pgdata promote", "pgdata-fs start", "pgsql start", "pgvip start")]
    assert order == sorted(order)


def test_a_vm_without_its_constraints_would_start_anywhere(lab5_render, lab5_config):
    """The check above can fail: drop pg1's colocation and order, and pg1-vm no longer waits."""
    import re

    cib = (lab5_render / "hypervisor/cib.xml").read_text()
    cib = re.sub(r'<rsc_(colocation|order) [^>]*pg1-vm[^>]*/>', "", cib)
    n1, n2 = (n.pacemaker_name for n in lab5_config.hypervisor.nodes)
    sim = boot(cib, [n1, n2], [])  # no promotion scores: no DRBD primary anywhere
    assert running_on(sim.status(), "pg1-vm") == [n1]
    assert running_on(sim.status(), "drbd-pg1", "Promoted") == []
