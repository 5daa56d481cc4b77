"""hastack's /etc/hosts block: what each layer writes, how it is read back, what is refused, and
the splice script run by the real sh and awk on files here (LocalTransport)."""
from __future__ import annotations

import os
import stat

import pytest
from pydantic import ValidationError

from hastack.apply import apply_live
from hastack.config.load import load_stack
from hastack.config.models import HostsFileOptions, HypervisorHostsFileOptions
from hastack.reports import HastackError
from hastack.resources import hosts_entries as he
from hastack.transport import Result
from hastack.transport.local import LocalTransport
from hastack.transport.scripted import ScriptedTransport

NODES = [{"name": "node1", "ssh": {"host": "127.0.0.1", "port": 2201, "known_hosts_file": "x"}},
         {"name": "node2", "ssh": {"host": "127.0.0.1", "port": 2202, "known_hosts_file": "x"}}]
HOST_OWN = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n# the host's own comment\n"


def props(entries=(("10.0.0.1", ("a.example", "a")), ("10.0.0.2", ("b.example", "b"))), path="/etc/hosts",
          nodes=NODES):
    return he.HostsEntriesProps(layer="hypervisor", nodes=nodes, path=path,
                                entries=[{"address": a, "names": n} for a, n in entries])


def test_lab5s_hypervisors_get_the_seeds_lines_with_the_fqdn_first():
    hv = load_stack("lab5").hypervisor
    lines = [f"{e.address} {' '.join(e.names)}" for e in he.layer_entries(hv, "hypervisor")]
    assert lines == ["192.168.2.21 node1s1", "192.168.2.22 node2s1", "192.168.3.21 node1s2", "192.168.3.22 node2s2",
                     "192.168.4.231 node1.lab5.decoursey.com node1", "192.168.4.232 node2.lab5.decoursey.com node2",
                     "192.168.4.241 node1-idrac", "192.168.4.242 node2-idrac"]


def test_the_guests_get_their_nodes_and_rings_and_no_bmc():
    guest = load_stack("lab5").guest
    names = [n for e in he.layer_entries(guest, "guest") for n in e.names]
    assert names == ["pg1s1", "pg2s1", "pg1s2", "pg2s2", "pg1.lab5.decoursey.com", "pg1", "pg2.lab5.decoursey.com", "pg2"]


@pytest.mark.parametrize("template,fields", [("{node}", "{node} and {ring}"), ("s{ring}", "{node} and {ring}"),
                                             ("{node}{ring}{ring}", "each once"), ("{node}-{link}", "nothing else"),
                                             ("{node}_s{ring}", "not a host name label")])
def test_a_ring_name_template_that_cannot_name_each_address_is_refused(template, fields):
    with pytest.raises(ValidationError) as caught:
        HostsFileOptions(ring_names=template)
    assert template in str(caught.value) and fields in str(caught.value)


def test_a_bmc_name_template_needs_the_node_and_only_it():
    assert HypervisorHostsFileOptions(bmc_names="{node}-idrac").bmc_names == "{node}-idrac"
    with pytest.raises(ValidationError, match="needs {node}"):
        HypervisorHostsFileOptions(bmc_names="idrac{ring}")


def test_a_generated_name_that_is_a_nodes_name_is_refused_before_any_host():
    hv = load_stack("lab5").hypervisor
    bmc_clash = hv.model_copy(update={"hosts_file": HypervisorHostsFileOptions(bmc_names="{node}")})
    with pytest.raises(HastackError) as caught:
        he.layer_entries(bmc_clash, "hypervisor")
    assert caught.value.code == "HOSTS_NAME_TWICE"
    assert "node1 would stand for both 192.168.4.231 and 192.168.4.241" in str(caught.value)
    assert "bmc_names" in str(caught.value)


def test_the_block_is_read_back_apart_from_the_hosts_own_lines():
    text = HOST_OWN + he.render_block(props()) + "10.9.9.9 other\n"
    block, outside = he.parse_hosts(text, "hypervisor")
    assert block == props().entries
    assert outside == (*HOST_OWN.splitlines(), "10.9.9.9 other")
    assert he.parse_hosts(HOST_OWN, "hypervisor") == (None, tuple(HOST_OWN.splitlines()))
    assert he.parse_hosts(he.render_block(props()), "guest")[0] is None  # another layer's block is not ours


def test_a_block_whose_end_line_was_deleted_is_refused_with_the_fix():
    begin, _end = he.markers("hypervisor")
    with pytest.raises(HastackError) as caught:
        he.parse_hosts(f"{HOST_OWN}{begin}\n10.0.0.1 a\n", "hypervisor")
    assert caught.value.code == "HOSTS_BLOCK_UNTERMINATED" and "# END hastack hypervisor" in str(caught.value)


def test_a_hosts_line_naming_a_cluster_host_elsewhere_is_refused_before_the_first_write():
    own = HOST_OWN + "127.0.1.1 a.example a\n10.0.0.2 b.example b\n"  # Debian's own-name line; a matching line
    nodes = {n: ScriptedTransport(n, answers={"cat -- /etc/hosts": Result(0, own, "")}) for n in ("node1", "node2")}
    with pytest.raises(HastackError) as caught:
        he.find(props(), lambda n: nodes[n])
    message = str(caught.value)
    assert caught.value.code == "HOSTS_CONFLICT" and message.startswith("HOSTS_CONFLICT: node1: /etc/hosts")
    assert "'127.0.1.1 a.example a' maps a.example, a to 127.0.1.1, not 10.0.0.1" in message
    assert "b.example" not in message  # the same address is no conflict
    assert all(c == "cat -- /etc/hosts" for t in nodes.values() for c in t.calls)  # read only


def test_a_node_without_the_block_or_with_another_is_drift_and_none_anywhere_is_gone():
    good = HOST_OWN + he.render_block(props())
    edited = good.replace("10.0.0.2 b.example b", "10.0.0.3 b.example b")
    answers = {"node1": good, "node2": edited}
    nodes = {n: ScriptedTransport(n, answers={"cat": Result(0, t, "")}) for n, t in answers.items()}
    live = he.observe(props(), lambda n: nodes[n])
    assert live.blocks["node1"] == props().entries and live.blocks["node2"] != props().entries
    assert he.drifted(props(), live) == ("entries",)
    bare = {n: ScriptedTransport(n, answers={"cat": Result(0, HOST_OWN, "")}) for n in answers}
    assert he.observe(props(), lambda n: bare[n]) is None


# ---- the splice script, by the real sh and awk -----------------------------------------------------------
def _apply(plan):
    apply_live(plan, lambda node: LocalTransport(node))


def test_the_splice_adds_replaces_in_place_and_removes_only_the_block(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(HOST_OWN)
    os.chmod(hosts, 0o640)
    first = props(path=str(hosts), nodes=NODES[:1])  # one file here: one node
    _apply(he.plan_create(first))
    assert hosts.read_text() == HOST_OWN + he.render_block(first)
    assert stat.S_IMODE(hosts.stat().st_mode) == 0o640
    assert not list(tmp_path.glob("hosts.hastack-*"))  # the staged block and the new file are gone

    hosts.write_text(hosts.read_text() + "10.9.9.9 added-later\n")
    second = props(entries=(("10.0.0.1", ("a.example", "a")),), path=str(hosts), nodes=NODES[:1])
    _apply(he.plan_update(first, second, None))
    assert hosts.read_text() == HOST_OWN + he.render_block(second) + "10.9.9.9 added-later\n"  # where it was

    _apply(he.plan_delete(second))
    assert hosts.read_text() == HOST_OWN + "10.9.9.9 added-later\n"
    _apply(he.plan_delete(second))  # twice: nothing left to take
    assert hosts.read_text() == HOST_OWN + "10.9.9.9 added-later\n"


def test_the_splice_leaves_a_damaged_file_as_it_was_and_says_why(tmp_path):
    hosts = tmp_path / "hosts"
    begin, _end = he.markers("hypervisor")
    damaged = f"{HOST_OWN}{begin}\n10.0.0.1 a\n10.9.9.9 the-hosts-own\n"
    hosts.write_text(damaged)
    with pytest.raises(HastackError) as caught:
        one = props(path=str(hosts), nodes=NODES[:1])
        _apply(he.plan_update(one, one, None))
    assert "exited 3" in str(caught.value) and "never ends" in str(caught.value)
    assert hosts.read_text() == damaged
    assert not list(tmp_path.glob("hosts.hastack-new"))
