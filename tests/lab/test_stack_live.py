"""`pulumi up` on the lab stack through the real CLI (the session's one `up`, conftest's
`applied`), asserting on the hosts themselves: no instant of it left a resource startable without
its constraints, the hypervisor layer with every VM on its preferred node, the guest PostgreSQL
chain, a no-op second up, drift found by refresh and repaired by up, an HA move that is not drift,
and the StackReference consumer.  The drills then fail this stack (test_drills_live), and
test_stack_changes_live changes it and destroys it."""
from __future__ import annotations

import json
import time

import pytest
from labhelpers import connects, full_only, listening, ssh, wait_for
from stackhelpers import HYPERVISORS, config, crm_mon, firewall_rules, main_job, pcmk, pulumi, wanted_firewall_rules

from hastack.facts.status import running_on
from hastack.render.libvirt import domain_xml_path
from tests.conftest import ROOT, run

# The first test also waits for the session's lab and `up` (15-25 min here).
pytestmark = [pytest.mark.lab, pytest.mark.timeout(3600)]


def test_no_instant_of_up_left_a_resource_startable_without_its_constraints(applied):
    """Every CIB the scheduler computed a transition from during the first `up`, on both
    layers: nothing could start before its order and colocation existed."""
    from hastack.pacemaker.constraint import unguarded_resources

    expected = {"hypervisor": [f"{vm['name']}-vm" for vm in config()["config"]["hastack:vms"]],
                "guest": ["pgdata-fs", "pgsql", "pgvip"]}
    for cluster, inputs in applied.scheduler_inputs.items():
        assert len(inputs) >= 3, f"{cluster}: the scheduler saved only {len(inputs)} inputs"
        assert any(all(f'id="{rid}"' in cib for rid in expected[cluster]) for _, cib in inputs), \
            f"{cluster}: no scheduler input holds all of {expected[cluster]}"
        for name, cib in inputs:
            assert unguarded_resources(cib) == [], f"{cluster}, {name}"


def test_up_builds_the_hypervisor_layer(applied):
    vms = config()["config"]["hastack:vms"]

    def settled():
        status = crm_mon()
        return all(running_on(status, f"{vm['name']}-vm") == [pcmk(vm["preferred_node"])] for vm in vms)

    wait_for(settled, timeout=600, interval=10, what="every VM on its preferred node")
    status = crm_mon()
    assert all(status["nodes"][pcmk(n)]["online"] for n in HYPERVISORS)
    for vm in vms:
        assert running_on(status, f"drbd-{vm['name']}", "Promoted") == [pcmk(vm["preferred_node"])]
        for node in HYPERVISORS:
            # The domain's config file, which VirtualDomain starts it from: the agent undefines a persistent
            # domain on each start, so after a failover and back only the file is left on the peer.
            assert ssh(node, f"test -f /etc/drbd.d/{vm['name']}.res && test -f {domain_xml_path(vm['name'])}").returncode == 0
        assert "running" in ssh(vm["preferred_node"], f"virsh domstate {vm['name']}").stdout
    assert running_on(status, "fence-node1") == [pcmk("node2")] and running_on(status, "fence-node2") == [pcmk("node1")]


def test_up_builds_the_guest_postgres_chain(applied):
    def chain_up():
        status = crm_mon("pg1")
        primary = running_on(status, "drbd-pgdata", "Promoted")
        return len(primary) == 1 and all(running_on(status, r) == primary for r in ("pgdata-fs", "pgsql", "pgvip"))

    wait_for(chain_up, timeout=600, interval=10, what="the guest chain on the promoted pgdata")
    primary = running_on(crm_mon("pg1"), "drbd-pgdata", "Promoted")[0].split(".", 1)[0]
    answer = ssh(primary, "runuser -u postgres -- psql -Atc 'select 1'")
    assert answer.stdout.strip() == "1"


def test_up_opened_exactly_what_each_layer_needs_and_a_port_it_did_not_open_stays_closed(applied):
    """The lab's hosts deny input by default (as RHEL's firewalld): both clusters formed through
    hastack's rules alone.  On all four hosts hastack's chain holds exactly the layer's openings,
    one jump reaches it, and the include line keeps it at boot; 7836 (in the DRBD range, no VM's)
    with a listener on node1 stays closed to node2; PostgreSQL answers at the VIP from a
    hypervisor's management address, a database client's."""
    from hastack.resources.firewall import INCLUDE_LINE

    for node in (*HYPERVISORS, "pg1", "pg2"):
        assert firewall_rules(node) == wanted_firewall_rules(node), node
        base = ssh(node, "nft list chain inet filter input; tail -n 1 /etc/nftables.conf").stdout
        assert "policy drop;" in base and base.count("jump hastack_input") == 1, node
        assert base.rstrip().endswith(INCLUDE_LINE), node
    n1 = [n for n in config()["config"]["hastack:hypervisor"]["nodes"] if n["name"] == "node1"][0]["ring_addresses"][0]
    with listening("node1", n1, 7836):
        assert not connects("node2", n1, 7836)
    assert connects("node1", config()["config"]["hastack:guest"]["vip"], 5432)


def test_up_wrote_each_layers_names_into_etc_hosts_beside_the_hosts_own_lines(applied):
    """Each node's /etc/hosts holds its layer's block (nodes, rings, BMCs, as the config makes
    them) once, and the lines the host had before it still stand; each name resolves through it."""
    from hastack.config.load import load_stack
    from hastack.resources.hosts_entries import layer_entries, parse_hosts

    stack = load_stack("lab")
    for layer, cluster in (("hypervisor", stack.hypervisor), ("guest", stack.guest)):
        wanted = layer_entries(cluster, layer)
        for node in cluster.nodes:
            text = ssh(node.name, "cat /etc/hosts").stdout
            block, outside = parse_hosts(text, layer)
            assert block == wanted, node.name
            assert "127.0.0.1 localhost" in outside, node.name
            ring_name = wanted[0].names[0]
            assert ssh(node.name, f"getent hosts {ring_name}").stdout.split()[0] == wanted[0].address, node.name


def test_a_second_up_changes_nothing(applied, stack_env, times):
    """bin/main run again, as the README says it may be: the lab reused, the stack's state kept."""
    pulumi(stack_env, "preview", "--expect-no-changes")
    start = time.monotonic()
    result = main_job(stack_env)
    times["bin_main_again_seconds"] = time.monotonic() - start
    assert "dropping it" not in result.stdout and "started (" not in result.stdout, result.stdout[-3000:]
    assert "to create" not in result.stdout and "to update" not in result.stdout and "to delete" not in result.stdout


def _steps(preview_json: str) -> dict[str, str]:
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in json.loads(preview_json)["steps"]}


@full_only("two refreshes of 83 resources, 8-10 min")
def test_refresh_finds_hand_edits_and_up_repairs_them(applied, stack_env):
    ssh("node1", "cibadmin --modify --xml-text '<rsc_location id=\"loc-gw1-vm-prefers-node1\" score=\"50\"/>'")
    ssh("node2", "echo '# hand edit' >> /etc/drbd.d/gw1.res")
    ssh("node1", "sed -i 's/^10.77.1.22 node2s1$/10.77.1.99 node2s1/' /etc/hosts")  # inside hastack's block
    # One of hastack's firewall rules deleted by hand (gw1's DRBD port on node2; its connection
    # stands, being established): drift of lab-firewall-node2, and of nothing else's firewall.
    ssh("node2", "nft -a list chain inet filter hastack_input | sed -n 's/.* dport 7789 .* # handle \\([0-9]*\\)$/\\1/p' "
                 "| while read -r h; do nft delete rule inet filter hastack_input handle $h; done")
    assert ("tcp", 7789, ("10.77.1.21",)) not in firewall_rules("node2")
    steps = _steps(pulumi(stack_env, "preview", "--refresh", "--json").stdout)
    assert steps.get("gw1-location") == "update"
    assert steps.get("gw1-drbd") == "update"
    assert steps.get("lab-firewall-node2") == "update" and steps.get("lab-firewall-node1") != "update"
    assert steps.get("lab-hosts") == "update" and steps.get("pgcluster-hosts") != "update"
    pulumi(stack_env, "up", "--refresh", "--yes", "--skip-preview")
    assert firewall_rules("node2") == wanted_firewall_rules("node2")
    cib = ssh("node1", "cibadmin --query --scope constraints").stdout
    assert 'id="loc-gw1-vm-prefers-node1"' in cib and 'score="100"' in cib.split('id="loc-gw1-vm-prefers-node1"')[1][:80]
    assert "# hand edit" not in ssh("node2", "cat /etc/drbd.d/gw1.res").stdout
    assert "10.77.1.22 node2s1" in ssh("node1", "cat /etc/hosts").stdout.splitlines()


@full_only("two VM moves and a refresh, 8-12 min")
def test_operators_ha_motion_is_not_drift(applied, stack_env):
    """A VM that Pacemaker moved is motion, not configuration: refresh must not want to change it."""
    ssh("node1", f"crm_resource --move --resource gw1-vm --node {pcmk('node2')} --lifetime PT10M")
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") == [pcmk("node2")], timeout=300, interval=5, what="gw1-vm on node2")
    steps = _steps(pulumi(stack_env, "preview", "--refresh", "--json").stdout)
    assert not [urn for urn, op in steps.items() if op not in ("same", "refresh", "read")], steps
    ssh("node1", "crm_resource --clear --resource gw1-vm")
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") == [pcmk("node1")], timeout=300, interval=5, what="gw1-vm back home")


def test_stack_reference_consumer_reads_the_outputs(applied, stack_env):
    consumer = ROOT / "examples" / "consumer"
    run(["pulumi", "stack", "init", "dev"], env=stack_env, cwd=consumer)
    run(["pulumi", "config", "set", "hastackStack", "organization/hastack/lab", "--stack", "dev"], env=stack_env, cwd=consumer)
    run(["pulumi", "up", "--yes", "--skip-preview", "--stack", "dev"], env=stack_env, cwd=consumer)
    outputs = json.loads(run(["pulumi", "stack", "output", "--json", "--stack", "dev"], env=stack_env, cwd=consumer).stdout)
    assert outputs["cluster_name"] == "lab"
    assert outputs["drbd_minors"] == {vm["name"]: vm["drbd_minor"] for vm in config()["config"]["hastack:vms"]}
    assert outputs["postgres_vip"] == config()["config"]["hastack:guest"]["vip"]
    run(["pulumi", "stack", "rm", "--yes", "--force", "--stack", "dev"], env=stack_env, cwd=consumer)
    for leftover in consumer.glob("Pulumi.dev.yaml"):
        leftover.unlink()
