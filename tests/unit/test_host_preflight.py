"""HostPreflight: the survey parser on what the lab's hosts really print, and each requirement
refused with the host, what is wrong and the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from hastack.config.load import load_stack
from hastack.facts.host import parse_host_survey
from hastack.reports import HastackError
from hastack.resources import host_preflight as hp
from hastack.transport.scripted import Result, ScriptedTransport

DATA = Path(__file__).parent / "data"


def survey(host: str):
    # Recorded on the lab (node1 a hypervisor, pg1 a guest) with `nosuchtool` among the commands asked for.
    return parse_host_survey((DATA / f"host_survey_{host}.txt").read_text())


def test_the_survey_reads_versions_addresses_mtus_and_bridges_as_the_hosts_print_them():
    node1, pg1 = survey("node1"), survey("pg1")
    assert node1.missing == pg1.missing == ("nosuchtool",)
    assert node1.versions == {"pacemaker": "2.1.5", "corosync": "3.1.7", "drbd-utils": "9.22.0",
                              "drbd-kernel": "8.4.11", "libvirt": "9.0.0"}
    assert node1.addresses["10.77.1.21"] == "br-stor1" and node1.addresses["10.77.0.21"] == "br-mgmt"
    assert "::1" not in node1.addresses  # IPv4 only, as the config's addresses
    assert node1.mtu["br-stor1"] == node1.mtu["stor1"] == 1500 and node1.mtu["lo"] == 65536
    assert set(node1.bridges) >= {"br-mgmt", "br-stor1", "br-stor2"}
    assert pg1.addresses["10.77.1.53"] == "stor1" and "br-stor1" not in pg1.bridges


def lab_props(layer: str) -> hp.HostPreflightProps:
    config = load_stack("lab")
    cluster = config.hypervisor if layer == "hypervisor" else config.guest
    bridges = tuple(b for vm in config.vms for b in vm.networks) if layer == "hypervisor" else ()
    return hp.HostPreflightProps(
        layer=layer, nodes=[{"name": n.name, "ssh": {}} for n in cluster.nodes], commands=("corosync",),
        drbd_dialect=config.hypervisor.drbd.dialect.value if layer == "hypervisor" else None,
        needs=hp.layer_needs(cluster, bridges))


def test_the_lab_as_it_is_meets_the_lab_stack():
    assert hp.problems(lab_props("hypervisor"), "node1", survey("node1")) == ("`nosuchtool` is not installed "
                                                                              "(not on root's PATH): install the "
                                                                              "package that provides it",)
    assert hp.problems(lab_props("guest"), "pg1", survey("pg1"))[1:] == ()


def altered(host: str, **changes):
    s = survey(host)
    return type(s)(**{**s.__dict__, "missing": (), **changes})


@pytest.mark.parametrize("changes, expected", [
    ({"versions": {"pacemaker": "2.0.5", "corosync": "3.1.7", "drbd-kernel": "8.4.11"}},
     "pacemaker 2.0.5 is older than 2.1"),
    ({"versions": {"pacemaker": "2.1.5", "corosync": "2.4.5", "drbd-kernel": "8.4.11"}},
     "corosync 2.4.5 is older than 3.0"),
    ({"versions": {"pacemaker": "2.1.5", "corosync": "3.1.7", "drbd-kernel": ""}}, "no DRBD kernel module"),
    ({"versions": {"pacemaker": "2.1.5", "corosync": "3.1.7", "drbd-kernel": "9.2.8"}},
     "the DRBD kernel module is 9.2.8, but the config's drbd.dialect is 8.4"),
    ({"addresses": {"10.77.0.21": "br-mgmt", "10.77.2.21": "br-stor2", "10.77.0.21x": "x"}},
     "ring storage1 10.77.1.21 is on no interface"),
    ({"addresses": {**survey("node1").addresses, "10.77.1.21": "stor1"}},
     "ring storage1 10.77.1.21 is on stor1, not on the bridge br-stor1"),
    ({"mtu": {**survey("node1").mtu, "br-stor2": 9000}}, "br-stor2 (ring storage2) has MTU 9000, the config says 1500"),
    ({"bridges": ("br-stor1", "br-stor2")}, "bridge br-mgmt (a VM's network) does not exist"),
])
def test_each_requirement_a_hypervisor_lacks_is_named_with_its_fix(changes, expected):
    found = hp.problems(lab_props("hypervisor"), "node1", altered("node1", **changes))
    assert len(found) == 1 and found[0].startswith(expected), found
    assert ": " in found[0].removeprefix(expected)  # what to do follows


def test_create_refuses_before_any_write_and_names_every_node_and_problem():
    props = lab_props("hypervisor")
    node1 = (DATA / "host_survey_node1.txt").read_text()
    node2 = node1.replace("10.77.0.21/", "10.77.0.22/").replace("10.77.2.21/", "10.77.2.22/")
    answers = {"node1": node1, "node2": node2.replace("10.77.1.21/", "10.77.1.99/").replace("nosuchtool", "virsh")}
    scripted = {n: ScriptedTransport(n, answers={"sh -c": Result(0, text, "")}) for n, text in answers.items()}
    with pytest.raises(HastackError) as refused:
        hp.find(props, lambda n: scripted[n])
    message = str(refused.value)
    assert refused.value.code == "PREFLIGHT_FAILED" and "nothing was changed on any host" in message
    assert "node1: `nosuchtool` is not installed" in message and "node2: `virsh` is not installed" in message
    assert "node2: ring storage1 10.77.1.22 is on no interface" in message
    assert message.count("\n  ") == 3  # one line per problem, none for what node2 has
    assert hp.plan_create(props) == () and hp.plan_delete(props) == ()
    for transport in scripted.values():  # only the survey ran
        assert len(transport.calls) == 1 and transport.calls[0].startswith("sh -c")


def test_a_requirement_lost_after_up_is_drift_that_the_next_up_stops_on():
    props = lab_props("hypervisor")
    live = hp.HostPreflightLive(problems={"node1": (), "node2": ("bridge br-mgmt (a VM's network) does not exist",)},
                                versions={})
    assert hp.drifted(props, live) == ("needs",)
    assert hp.drifted(props, hp.HostPreflightLive(problems={"node1": (), "node2": ()}, versions={})) == ()
    assert hp.FIND_BEFORE_UPDATE


@pytest.mark.parametrize("agent, path", [
    ("ocf:linbit:drbd", "/usr/lib/ocf/resource.d/linbit/drbd"),
    ("VirtualDomain", "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain"),
    ("stonith:fence_ipmilan", "fence_ipmilan"),
])
def test_agents_are_looked_for_where_pacemaker_looks(agent, path):
    assert hp.agent_command(agent) == path
