"""The Firewall resource's core (hastack/resources/firewall.py): what each node opens, derived from
the lab and lab5 stacks, rendered, probed, parsed and planned.  The real nft, firewalld and
corosync run in tests/tools/test_firewall_tools.py."""
from __future__ import annotations

import json
import re

import pytest

from hastack.config.load import load_stack, raw_config, stack_file, unseal, validate
from hastack.layout import drbd_hosts, guest_drbd_ports, vm_drbd_ports
from hastack.plan import sequential
from hastack.render.corosync import CorosyncNode, knet_port, render_corosync_conf
from hastack.render.drbd import DrbdHost, render_resource
from hastack.reports import HastackError
from hastack.resources import firewall as fw
from hastack.resources.base import digest
from hastack.transport import Result
from hastack.transport.scripted import ScriptedTransport


@pytest.fixture(scope="module")
def lab():
    return load_stack("lab")


@pytest.fixture(scope="module")
def lab5():
    return load_stack("lab5")


def props(config, layer, pcsd=False, **over) -> fw.FirewallProps:
    openings = fw.layer_openings(config, layer, pcsd=pcsd)
    nodes = [{"name": n, "ssh": {"host": "127.0.0.1", "known_hosts_file": "x"}} for n in openings]
    return fw.FirewallProps(layer=layer, nodes=nodes, openings=openings, **over)


def table(openings) -> list[tuple]:
    return [(o.proto, o.ports[0] if o.ports[0] == o.ports[1] else o.ports, o.sources, o.to) for o in openings]


# ---- what is opened -------------------------------------------------------------------------------
def test_lab_hypervisors_open_knet_per_link_and_each_vms_drbd_port_on_the_first_ring_only(lab):
    """The lab runs DRBD 8.4: its .res holds one address pair, on the first ring, at the VM's first
    port; the second port of each pair is never used, so it stays closed."""
    openings = fw.layer_openings(lab, "hypervisor")
    assert table(openings["node1"]) == [
        ("udp", 5405, ("10.77.1.22",), "10.77.1.21"), ("udp", 5406, ("10.77.2.22",), "10.77.2.21"),
        ("tcp", 7789, ("10.77.1.22",), "10.77.1.21"), ("tcp", 7793, ("10.77.1.22",), "10.77.1.21"),
        ("tcp", 7795, ("10.77.1.22",), "10.77.1.21")]
    assert [o.purpose for o in openings["node1"]][:3] == ["corosync knet link 0 (storage1)",
                                                         "corosync knet link 1 (storage2)", "drbd gw1 path 0 (storage1)"]
    # node2's mirror: the same ports, from node1's addresses
    assert [(p, ports, s) for p, ports, s, _ in table(openings["node2"])] == [
        (p, ports, (s[0].replace(".22", ".21"),)) for p, ports, s, _ in table(openings["node1"])]
    assert not any(o.ports[0] == fw.PCSD_PORT for o in openings["node1"])  # pcsd off unless asked for


def test_lab_guests_open_their_own_knet_links_and_pgdata_and_postgresql_to_the_management_network(lab):
    """The lab gives no database_clients: the guests' management network (their VMs' addresses,
    10.77.0.53/24 and .54/24) is what reaches 5432, where the drill's client on a hypervisor writes."""
    assert table(fw.layer_openings(lab, "guest")["pg1"]) == [
        ("udp", 5405, ("10.77.1.54",), "10.77.1.53"), ("udp", 5406, ("10.77.2.54",), "10.77.2.53"),
        ("tcp", 7801, ("10.77.1.54",), "10.77.1.53"), ("tcp", 5432, ("10.77.0.0/24",), "10.77.0.53"),
        ("tcp", 5666, ("10.77.0.5",), "10.77.0.53")]  # NRPE, from the lab's Nagios server only
    assert fw.DATABASE in [o.purpose for o in fw.layer_openings(lab, "guest")["pg2"]]
    assert not any(o.ports[0] == 5432 for os in fw.layer_openings(lab, "hypervisor").values() for o in os)


def lab_with(**guest_firewall):
    """The lab stack with guest.firewall set as given, validated as a stack file is."""
    raw = unseal(raw_config(stack_file("lab")))
    return validate({**raw, "guest": {**raw["guest"], "firewall": guest_firewall}})


def test_the_database_opens_to_exactly_the_configured_clients_each_as_nft_and_firewalld_print_it():
    openings = fw.layer_openings(lab_with(database_clients=["10.77.9.0/24", "192.168.50.7", "10.88.0.4/32"]), "guest")
    for node in ("pg1", "pg2"):
        assert [(o.proto, o.ports, o.sources) for o in openings[node] if o.purpose == fw.DATABASE] == [
            ("tcp", (5432, 5432), ("10.77.9.0/24", "192.168.50.7", "10.88.0.4"))]
    p = fw.FirewallProps(layer="guest", nodes=[{"name": "pg1", "ssh": {"host": "h", "known_hosts_file": "x"}}],
                         openings={"pg1": openings["pg1"]})
    assert '\t\tip saddr { 10.77.9.0/24, 192.168.50.7, 10.88.0.4 } tcp dport 5432 accept comment "postgresql clients"\n' \
        in fw.render_nft(p, "pg1")
    rules = [r for _, r in fw.rich_rules(p, "pg1") if '"5432"' in r]
    assert rules[0] == 'rule family="ipv4" source address="10.77.9.0/24" port port="5432" protocol="tcp" accept'
    assert fw.parse_rich_rule(rules[0]).sources == ("10.77.9.0/24",) and len(rules) == 3
    # none at all: no opening (the policy pack warns)
    assert not any(o.purpose == fw.DATABASE for os in fw.layer_openings(lab_with(database_clients=[]), "guest").values()
                   for o in os)


# The seed's own firewall-cmd lines (shared/seeds, "Firewall Configuration" and "Firewall —
# Corosync high-availability ports and pcsd"), on node1.  node2 mirrors them; the guests get none.
SEED_NODE1 = (
    "rule family=ipv4 source address=192.168.2.22 port port=7789-7838 protocol=tcp accept",
    "rule family=ipv4 source address=192.168.3.22 port port=7789-7838 protocol=tcp accept",
    'rule family="ipv4" source address="192.168.2.22" service name="high-availability" accept',
    'rule family="ipv4" source address="192.168.3.22" service name="high-availability" accept',
    'rule family="ipv4" source address="192.168.4.232" port port="2224" protocol="tcp" accept',
)
# firewalld's high-availability service (its services/high-availability.xml, read in the tools test).
HIGH_AVAILABILITY = {("tcp", p) for p in (2224, 3121, 5403, 9929, 21064)} | {("udp", p) for p in (5404, 9929, *range(5405, 5413))}


def test_lab5_opens_a_strict_subset_of_what_the_seed_opens(lab5):
    """Against the seed's commands on node1.  Differences, all on purpose:
    - DRBD: the seed opens the whole range 7789-7838 (50 ports) from both of node2's ring
      addresses; hastack opens each VM's port of each path (12 ports) only from node2's address
      on that path's ring (port 7789 from 192.168.2.22, 7790 from 192.168.3.22, ...).
    - corosync: the seed accepts the whole `high-availability` service from both ring addresses
      (pcsd 2224, pacemaker_remote 3121, qnetd 5403, booth 9929, dlm 21064 and UDP 5404-5412);
      hastack opens UDP 5405 from ring 1's address and 5406 from ring 2's only, the two ports
      corosync's two knet links use.  pcsd is reachable only from the management address.
    - pcsd: the seed's rule is exactly hastack's (with pcsd on).
    - guests: the seed writes no firewall rule in pg1/pg2 (RHEL cloud guests); hastack opens the
      guest cluster's knet links and pgdata's port 7801 on both paths, each from the peer guest,
      and PostgreSQL's 5432 from the guests' management network (10.0.5.0/24, br-internal), and
      NRPE's 5666 from the Nagios server alone (the seed's allowed_hosts, without a firewall)."""
    openings = fw.layer_openings(lab5, "hypervisor", pcsd=True)["node1"]
    drbd = [(o.ports[0], o.sources[0]) for o in openings if o.purpose.startswith("drbd")]
    assert len(drbd) == 12 and all(o.ports[0] == o.ports[1] for o in openings)
    assert all(7789 <= port <= 7838 and source in ("192.168.2.22", "192.168.3.22") for port, source in drbd)
    assert [s for p, s in drbd if p % 2] == ["192.168.2.22"] * 6 and [s for p, s in drbd if not p % 2] == ["192.168.3.22"] * 6
    knet = [(o.proto, o.ports[0], o.sources[0]) for o in openings if o.purpose.startswith("corosync")]
    assert knet == [("udp", 5405, "192.168.2.22"), ("udp", 5406, "192.168.3.22")]
    assert all((proto, port) in HIGH_AVAILABILITY for proto, port, _ in knet)
    pcsd = [rule for _, rule in fw.rich_rules(props(lab5, "hypervisor", pcsd=True), "node1") if '"2224"' in rule]
    assert pcsd == [SEED_NODE1[4]]
    guest = fw.layer_openings(lab5, "guest")["pg1"]
    assert len(guest) == 6 and guest[-2].sources == ("10.0.5.0/24",)  # 2 knet links + pgdata on 2 paths + 5432
    assert (guest[-1].ports, guest[-1].sources, guest[-1].to) == ((5666, 5666), ("10.0.5.51",), "10.0.5.53")


@pytest.mark.parametrize("stack", ["lab", "lab5"])
def test_drbd_openings_are_exactly_the_address_pairs_of_the_rendered_res(stack, lab, lab5):
    """Every DRBD opening is an address:port of the peer that the .res hastack renders names, and
    every address:port a .res names for one side is opened on the other side, from that address."""
    config = {"lab": lab, "lab5": lab5}[stack]
    resources = [(vm.name, config.hypervisor.nodes, vm_drbd_ports(vm, config.hypervisor.drbd, len(config.hypervisor.rings)),
                  config.hypervisor.drbd, "hypervisor") for vm in config.vms]
    guest = config.guest
    resources.append((guest.drbd.resource, guest.nodes, guest_drbd_ports(guest), guest.drbd_options, "guest"))
    for name, nodes, ports, options, layer in resources:
        hosts = tuple(DrbdHost(on, addresses) for on, addresses in drbd_hosts(nodes))
        text = render_resource(name, 0, "/dev/x", hosts, ports, options)
        in_res = set(re.findall(r"address ([0-9.]+):([0-9]+);", text))
        openings = fw.layer_openings(config, layer)
        opened = {(node, o.sources[0], str(o.ports[0]), o.to) for node, os in openings.items() for o in os
                  if o.purpose.startswith(f"drbd {name} ")}
        assert {(s, p) for _, s, p, _ in opened} == in_res == {(t, p) for _, _, p, t in opened}, name
        by_node = {n.name: {str(a) for a in n.ring_addresses} for n in nodes}
        assert all(to in by_node[node] and source not in by_node[node] for node, source, _, to in opened)


@pytest.mark.parametrize("stack", ["lab", "lab5"])
@pytest.mark.parametrize("layer", ["hypervisor", "guest"])
def test_knet_openings_are_the_rendered_corosync_confs_links(stack, layer, lab, lab5):
    cluster = getattr({"lab": lab, "lab5": lab5}[stack], layer)
    conf = render_corosync_conf(cluster.name, tuple(CorosyncNode(n.fqdn, i + 1, tuple(map(str, n.ring_addresses)))
                                                    for i, n in enumerate(cluster.nodes)), cluster.token_ms)
    links = [int(n) for n in re.findall(r"linknumber: ([0-9]+)", conf)]
    assert "mcastport" not in conf  # so each link is on corosync's default port, 5405 + link
    rings = {re.search(r"name: (\S+)", block).group(1): re.findall(r"ring[0-9]+_addr: (\S+)", block)
             for block in conf.split("node {")[1:]}
    openings = fw.layer_openings({"lab": lab, "lab5": lab5}[stack], layer)
    for me, peer in ((0, 1), (1, 0)):
        knet = [(o.ports[0], o.sources[0], o.to) for o in openings[cluster.nodes[me].name] if o.proto == "udp"]
        assert knet == [(knet_port(link), rings[cluster.nodes[peer].fqdn][link], rings[cluster.nodes[me].fqdn][link])
                        for link in links]


# ---- props, rendering ---------------------------------------------------------------------------
def test_props_refuse_a_base_chain_or_purpose_that_could_not_be_written():
    opening = {"proto": "udp", "ports": (5405, 5405), "sources": ("10.0.0.2",), "to": "10.0.0.1", "purpose": "x"}
    nodes = [{"name": "node1", "ssh": {"host": "h", "known_hosts_file": "x"}}]
    with pytest.raises(ValueError, match="family inet or ip"):
        fw.FirewallProps(layer="hypervisor", nodes=nodes, openings={"node1": (opening,)}, base_chain="filter input")
    with pytest.raises(ValueError):
        fw.FirewallProps(layer="hypervisor", nodes=nodes, openings={"node1": ({**opening, "purpose": 'a" accept'},)})
    with pytest.raises(ValueError):
        fw.FirewallProps(layer="hypervisor", nodes=nodes, openings={"node1": ({**opening, "sources": ("10.0.0.256",)},)})


def test_the_nft_file_fills_hastack_input_in_the_hosts_table_and_jumps_to_it(lab):
    p = props(lab, "guest", base_chain="ip filter INPUT")
    assert fw.render_nft(p, "pg1").splitlines()[3:] == [
        "table ip filter {", "\tchain hastack_input {", "\t}", "}",
        "flush chain ip filter hastack_input",
        "table ip filter {", "\tchain hastack_input {",
        '\t\tip saddr 10.77.1.54 udp dport 5405 accept comment "corosync knet link 0 (storage1)"',
        '\t\tip saddr 10.77.2.54 udp dport 5406 accept comment "corosync knet link 1 (storage2)"',
        '\t\tip saddr 10.77.1.54 tcp dport 7801 accept comment "drbd pgdata path 0 (storage1)"',
        '\t\tip saddr 10.77.0.0/24 tcp dport 5432 accept comment "postgresql clients"',
        '\t\tip saddr 10.77.0.5 tcp dport 5666 accept comment "nrpe from the nagios server"',
        "\t}", "}",
        "insert rule ip filter INPUT jump hastack_input"]
    several = fw.Opening(proto="tcp", ports=(7789, 7838), sources=("10.0.0.1", "10.0.0.2"), to="10.0.0.3", purpose="r")
    assert fw.nft_rule(several) == 'ip saddr { 10.0.0.1, 10.0.0.2 } tcp dport 7789-7838 accept comment "r"'


def test_rich_rules_are_firewallds_own_form_and_read_back(lab):
    rules = fw.rich_rules(props(lab, "guest"), "pg2")
    assert rules[0] == ("10.77.1.54", 'rule family="ipv4" source address="10.77.1.53" port port="5405" protocol="udp" accept')
    assert fw.parse_rich_rule(rules[2][1], "public") == fw.Rule(proto="tcp", ports=(7801, 7801), sources=("10.77.1.53",),
                                                                zone="public")
    assert fw.parse_rich_rule(fw.rich_rule("tcp", (7789, 7838), "10.0.0.1")).ports == (7789, 7838)
    assert all(fw.parse_rich_rule(r) is None for r in SEED_NODE1[2:4])  # a service: not of hastack's shape


# ---- plans ----------------------------------------------------------------------------------------
def steps(plan):
    return [(t, s) for t, s in sequential(plan)]


def test_create_stages_each_nodes_file_then_reconciles_once_per_node(lab):
    p = props(lab, "hypervisor")
    plan = steps(fw.plan_create(p, None))
    assert [(t, type(s).__name__) for t, s in plan] == [("node1", "Put"), ("node1", "Run"), ("node2", "Put"), ("node2", "Run")]
    put, run = plan[0][1], plan[1][1]
    assert put.path == "/var/lib/hastack/firewall/node1.nft" and put.content == fw.render_nft(p, "node1").encode()
    assert run.argv[:3] == ("sh", "-c", fw.APPLY)
    assert run.argv[4:12] == ("inet", "filter", "input", put.path, fw.NFT_FILE, "/etc/nftables.conf", fw.INCLUDE_LINE, fw.LEDGER)
    pairs = list(zip(run.argv[12::2], run.argv[13::2]))
    assert pairs == list(fw.rich_rules(p, "node1")) and len(pairs) == 5  # 2 knet links, 3 VMs
    assert steps(fw.plan_update(p, p, None)) == plan  # one reconcile: update is the same plan


def test_create_and_update_refuse_a_host_whose_input_is_filtered_elsewhere(lab):
    p = props(lab, "hypervisor")
    other = fw.NodeFirewall(backend="other", input_chains=("ip filter INPUT",))
    found = {"node1": fw.NodeFirewall(backend="nftables"), "node2": other}
    with pytest.raises(HastackError, match="FIREWALL_BASE_CHAIN.*node2: nftables filters input in ip filter INPUT"):
        fw.plan_create(p, found)
    with pytest.raises(HastackError, match="FIREWALL_BASE_CHAIN"):
        fw.plan_update(p, p, fw.FirewallLive(nodes=found))


def test_delete_runs_one_removal_per_node_that_names_only_hastacks_things(lab):
    p = props(lab, "guest")
    plan = steps(fw.plan_delete(p))
    assert [(t, s.argv[2:3]) for t, s in plan] == [("pg1", (fw.REMOVE,)), ("pg2", (fw.REMOVE,))]
    assert plan[0][1].argv[4:] == ("inet", "filter", "input", fw.NFT_FILE, "/etc/nftables.conf", fw.INCLUDE_LINE,
                                   fw.LEDGER, "/var/lib/hastack/firewall/pg1.nft")


# ---- probe, parser, drift -------------------------------------------------------------------------
def nft_chain_json(p, node, drop=0) -> str:
    """`nft -j list chain` as the real nft 1.0.6 prints it for NODE's rendered rules (shape taken
    from its output; tests/tools proves the parser on the real thing)."""
    rules = [{"rule": {"family": "inet", "table": "filter", "chain": "hastack_input", "handle": 10 + i, "comment": o.purpose,
                       "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                           "right": o.sources[0] if len(o.sources) == 1 else {"set": list(o.sources)}}},
                                {"match": {"op": "==", "left": {"payload": {"protocol": o.proto, "field": "dport"}},
                                           "right": o.ports[0] if o.ports[0] == o.ports[1] else {"range": list(o.ports)}}},
                                {"accept": None}]}} for i, o in enumerate(p.openings[node][drop:])]
    return json.dumps({"nftables": [{"metainfo": {"version": "1.0.6"}},
                                    {"chain": {"family": "inet", "table": "filter", "name": "hastack_input"}}, *rules]})


def nft_probe(p, node, *, drop=0, jumps=1, included=True, file=None, extra=()) -> str:
    lines = ["backend nftables", f"jumps {jumps}", f"chain {nft_chain_json(p, node, drop)}",
             f"file {file or digest(fw.render_nft(p, node))}", *(["included"] if included else []), *extra]
    return "\n".join(lines) + "\n"


def test_parse_nft_reads_hastack_rules_and_counts_the_others():
    text = json.dumps({"nftables": [{"rule": {"comment": "range", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"set": ["10.0.0.1", "10.0.0.2"]}}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"range": [7789, 7838]}}},
        {"accept": None}]}}, {"rule": {"expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.0.0.9"}},
            {"counter": {"packets": 0, "bytes": 0}}, {"accept": None}]}}]})
    assert fw.parse_nft_chain(text) == ((fw.Rule(proto="tcp", ports=(7789, 7838), sources=("10.0.0.1", "10.0.0.2"),
                                                 comment="range"),), 1)


@pytest.mark.parametrize("probe_kw, drift", [
    ({}, False),
    ({"drop": 1}, True),  # a rule deleted by hand
    ({"jumps": 0}, True),  # the jump deleted: hastack_input is never reached
    ({"jumps": 2}, True),
    ({"included": False}, True),  # lost at the next boot
    ({"file": "0" * 64}, True),  # the file edited
])
def test_nftables_drift(lab, probe_kw, drift):
    p = props(lab, "hypervisor")
    state = fw.parse_probe(nft_probe(p, "node1", **probe_kw))
    assert state.backend == "nftables" and state.chain
    assert fw.node_drifted(p, "node1", state) is drift
    live = fw.FirewallLive(nodes={"node1": state, "node2": fw.parse_probe(nft_probe(p, "node2"))})
    assert fw.drifted(p, live) == (("openings",) if drift else ())


def test_a_rule_added_by_hand_to_hastack_input_is_drift(lab):
    p = props(lab, "guest")
    chain = json.loads(nft_chain_json(p, "pg1"))
    chain["nftables"].append({"rule": {"expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                                          "right": 22}}, {"accept": None}]}})
    state = fw.parse_probe(nft_probe(p, "pg1").replace(nft_chain_json(p, "pg1"), json.dumps(chain)))
    assert state.foreign == 1 and fw.node_drifted(p, "pg1", state)


def firewalld_probe(p, node, zone="public", skip=(), runtime_only=()) -> str:
    rules = [r for _, r in fw.rich_rules(p, node)]
    lines = ["backend firewalld", *(f"zone {a} {zone}" for a in dict.fromkeys(o.to for o in p.openings[node]))]
    lines += [f"runtime {zone} {r}" for r in rules if r not in skip]
    lines += [f"permanent {zone} {r}" for r in rules if r not in skip and r not in runtime_only]
    lines += [f"runtime {zone} {SEED_NODE1[2]}", f"added {zone} {rules[0]}"]
    return "\n".join(lines) + "\n"


def test_firewalld_state_is_read_per_zone_and_a_runtime_only_rule_is_drift(lab):
    p = props(lab, "guest")
    state = fw.parse_probe(firewalld_probe(p, "pg1"))
    assert state.backend == "firewalld" and state.zones == {"10.77.1.53": "public", "10.77.2.53": "public",
                                                            "10.77.0.53": "public"}  # the database's, on mgmt
    assert len(state.rules) == 5 and len(state.permanent) == 5  # the service rule is not of hastack's shape
    assert [r.sources for r in state.added] == [("10.77.1.54",)] and not fw.node_drifted(p, "pg1", state)
    rule = fw.rich_rules(p, "pg1")[1][1]
    assert fw.node_drifted(p, "pg1", fw.parse_probe(firewalld_probe(p, "pg1", skip=(rule,))))
    assert fw.node_drifted(p, "pg1", fw.parse_probe(firewalld_probe(p, "pg1", runtime_only=(rule,))))
    # the same rules in another zone than the address's do not count
    moved = firewalld_probe(p, "pg1").replace("zone 10.77.2.53 public", "zone 10.77.2.53 internal")
    assert fw.node_drifted(p, "pg1", fw.parse_probe(moved))


def test_a_host_without_a_firewall_is_live_state_with_nothing_to_open(lab):
    p = props(lab, "guest")
    state = fw.parse_probe("backend none\n")
    assert state.summary() == fw.NO_FIREWALL == "no firewall active: nothing to open"
    assert not fw.node_drifted(p, "pg1", state)
    hosts = {n: ScriptedTransport(n, {"sh -c": Result(0, "backend none\n", "")}) for n in ("pg1", "pg2")}
    live = fw.observe(p, hosts.__getitem__)
    assert live is not None and fw.drifted(p, live) == () and set(live.nodes) == {"pg1", "pg2"}
    assert fw.plan_create(p, fw.find(p, hosts.__getitem__))  # its reconcile says so on the host, and does nothing


def test_observe_is_none_when_nothing_of_hastacks_is_left_and_find_refuses_other_chains(lab):
    p = props(lab, "guest")
    empty = {n: ScriptedTransport(n, {"sh -c": Result(0, "backend nftables\njumps 0\n", "")}) for n in ("pg1", "pg2")}
    assert fw.observe(p, empty.__getitem__) is None
    other = {n: ScriptedTransport(n, {"sh -c": Result(0, "backend other\ninput ip filter INPUT\n", "")}) for n in ("pg1", "pg2")}
    with pytest.raises(HastackError, match="FIREWALL_BASE_CHAIN"):
        fw.find(p, other.__getitem__)
    assert fw.parse_probe("backend other\ninput ip filter INPUT\n").summary().startswith("nftables filters input in ip filter INPUT")


def test_the_probe_asks_for_each_address_once(lab):
    argv = fw.probe_argv(props(lab, "hypervisor"), "node1")
    assert argv[:3] == ["sh", "-c", fw.PROBE] and argv[4:11] == ["inet", "filter", "input", fw.NFT_FILE, "/etc/nftables.conf",
                                                                fw.INCLUDE_LINE, fw.LEDGER]
    assert argv[11:] == ["10.77.1.21", "10.77.2.21"]
