"""The Firewall in the stack (components/firewalls.py): one per node and layer, waited for by that
layer's corosync and DRBD resources, opening what the config says as the config changes.  The
real program runs under Pulumi's mocks, as `render` runs it; each resource's dependencies are
recorded where the program hands them to Pulumi."""
from __future__ import annotations

import copy

import pytest

from hastack.config.load import validate
from hastack.resources import firewall as fw
from hastack.resources import registry
from providers.firewall import FirewallProvider


def firewalls(resources: dict) -> dict:
    return {name: inputs for name, (t, inputs, _) in resources.items() if t == "Firewall"}


def opened(inputs: dict, node: str) -> list[tuple]:
    return [(o["proto"], o["ports"][0], tuple(o["sources"])) for o in inputs["openings"][node]]


def test_each_node_of_each_layer_has_its_firewall_and_its_corosync_and_drbd_wait_for_it(record, lab_raw, lab5_render):
    config = validate(lab_raw)
    resources = record(config)
    walls = firewalls(resources)
    layers = {"lab": ("hypervisor", ["node1", "node2"]), "pgcluster": ("guest", ["pg1", "pg2"])}
    assert sorted(walls) == sorted(f"{c}-firewall-{n}" for c, (_, nodes) in layers.items() for n in nodes)
    for cluster, (layer, nodes) in layers.items():
        mine = [f"{cluster}-firewall-{n}" for n in nodes]
        for name, node in zip(mine, nodes):
            inputs = walls[name]
            assert inputs["layer"] == layer and [n["name"] for n in inputs["nodes"]] == [node]
            assert list(inputs["openings"]) == [node]  # its own node's openings, nothing of the peer's
            assert inputs["openings"][node] == [o.model_dump(mode="json") for o in fw.layer_openings(config, layer)[node]]
            assert (inputs["base_chain"], inputs["nftables_conf"]) == ("inet filter input", "/etc/nftables.conf")
        waiting = [name for name, (t, inputs, _) in resources.items()
                   if t in ("CorosyncCluster", "DrbdResource") and inputs["layer"] == layer]
        assert len(waiting) == {"hypervisor": 1 + len(config.vms), "guest": 2}[layer]
        for name in waiting:
            assert set(mine) <= set(resources[name][2]), f"{name} does not wait for {mine}"
    # Each layer's firewalls wait for its preflight; the guests' preflight waits for the guests to
    # run (their VMs enabled), as every guest resource does through it.
    for cluster, (_layer, nodes) in layers.items():
        assert all(resources[f"{cluster}-firewall-{n}"][2] == [f"{cluster}-preflight"] for n in nodes)
    assert {"pg1-enable", "pg2-enable"} <= set(resources["pgcluster-preflight"][2])
    # In a fresh stack's apply order (render's, the engine's by these dependencies) they come first.
    done = (lab5_render / "resources.json").read_text()
    assert registry.RANK["Firewall"] < registry.RANK["CorosyncCluster"] < registry.RANK["DrbdResource"]
    assert done.index('"Firewall lab5-firewall-node1"') < done.index('"CorosyncCluster lab5-corosync"')
    assert done.index('"Firewall pgcluster-firewall-pg2"') < done.index('"CorosyncCluster pgcluster-corosync"')


def test_a_vm_added_to_the_config_opens_its_drbd_port_on_both_hypervisors_and_only_there(record, lab_raw):
    """A copy of the lab with a fifth VM (DRBD 8.4: one port, on the first ring): both hypervisors'
    firewalls open 7797 to each other's storage1 address and nothing else changes; the change is
    an update in place, and the new VM's DRBD resource waits for both firewalls."""
    before = record(validate(lab_raw))
    grown = copy.deepcopy(lab_raw)
    grown["vms"].append({"name": "db3", "preferred_node": "node1", "lv_size": "64M", "drbd_minor": 4,
                         "drbd_ports": [7797, 7798], "force_stop": True, "vcpus": 1, "memory_mib": 128,
                         "networks": ["br-mgmt"]})
    after = record(validate(grown))
    for node, peer in (("node1", "10.77.1.22"), ("node2", "10.77.1.21")):
        name = f"lab-firewall-{node}"
        old, new = firewalls(before)[name], firewalls(after)[name]
        assert opened(new, node) == opened(old, node) + [("tcp", 7797, (peer,))]
        assert new["openings"][node][-1]["purpose"] == "drbd db3 path 0 (storage1)"
        diff = FirewallProvider().diff(name, old, new)
        assert diff.changes and diff.replaces == []
    assert {"lab-firewall-node1", "lab-firewall-node2"} <= set(after["db3-drbd"][2])
    assert {n: firewalls(after)[n] for n in ("pgcluster-firewall-pg1", "pgcluster-firewall-pg2")} == \
        {n: firewalls(before)[n] for n in ("pgcluster-firewall-pg1", "pgcluster-firewall-pg2")}
    # and taken out again, its port closes: the firewalls are the lab's own again
    assert firewalls(record(validate(lab_raw))) == firewalls(before)


def test_the_guest_layer_opens_the_database_port_to_exactly_the_clients_configured(record, lab_raw):
    default = firewalls(record(validate(lab_raw)))
    configured = copy.deepcopy(lab_raw)
    configured["guest"]["firewall"] = {"database_clients": ["10.77.5.0/24", "10.77.0.21"]}
    walls = firewalls(record(validate(configured)))
    for node in ("pg1", "pg2"):
        name = f"pgcluster-firewall-{node}"
        assert [o for o in opened(walls[name], node) if o[1] == 5432] == [("tcp", 5432, ("10.77.5.0/24", "10.77.0.21"))]
        assert [o for o in opened(default[name], node) if o[1] == 5432] == [("tcp", 5432, ("10.77.0.0/24",))]
        assert [o for o in opened(walls[name], node) if o[1] != 5432] == [o for o in opened(default[name], node) if o[1] != 5432]
        assert FirewallProvider().diff(name, default[name], walls[name]).replaces == []
    assert not any(o[1] == 5432 for n in ("node1", "node2") for o in opened(walls[f"lab-firewall-{n}"], n))
    configured["guest"]["firewall"] = {"database_clients": []}
    walls = firewalls(record(validate(configured)))
    assert not any(o[1] == 5432 for n in ("pg1", "pg2") for o in opened(walls[f"pgcluster-firewall-{n}"], n))


def test_another_base_chain_replaces_the_firewall_and_is_rendered_into_its_file(record, lab_raw):
    """base_chain and nftables_conf are per layer; a change of either is a replace (the old jump and
    include line leave with the old props)."""
    changed = copy.deepcopy(lab_raw)
    changed["hypervisor"]["firewall"] = {"base_chain": "ip filter INPUT", "nftables_conf": "/etc/sysconfig/nftables.conf"}
    old, new = firewalls(record(validate(lab_raw))), firewalls(record(validate(changed)))
    assert new["lab-firewall-node1"]["base_chain"] == "ip filter INPUT"
    assert new["pgcluster-firewall-pg1"]["base_chain"] == "inet filter input"  # the guests keep their own
    diff = FirewallProvider().diff("lab-firewall-node1", old["lab-firewall-node1"], new["lab-firewall-node1"])
    assert sorted(diff.replaces) == ["base_chain", "nftables_conf"]
    text = fw.render_nft(FirewallProvider()._props(new["lab-firewall-node1"]), "node1")
    assert text.endswith("insert rule ip filter INPUT jump hastack_input\n") and "/etc/sysconfig/nftables.conf" in text
