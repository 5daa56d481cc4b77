"""`pulumi up` on the lab stack through the real CLI, asserting on the hosts themselves:
the hypervisor layer with every VM on its preferred node, the guest PostgreSQL chain, a no-op
second up, drift found by refresh and repaired by up, a partial failure completed by the next up,
VM removal in the safe order, the StackReference consumer, and destroy."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from labhelpers import ssh, wait_for

from hastack.facts.status import parse_crm_mon, running_on
from tests.conftest import ROOT, run

# The whole module on the emulated lab takes 68-100 min on a 2-core machine, too long beside the
# rest of the suite in CI's 90 min: it runs when asked for, never silently.
pytestmark = [
    pytest.mark.lab,
    # The first test also runs the module's lab up and the whole-stack `up` (21-37 min here): far
    # beyond the suite's 900 s per test.
    pytest.mark.timeout(3600),
    pytest.mark.skipif(os.environ.get("HASTACK_LIVE_STACK") != "1",
                       reason="live pulumi up on the lab: set HASTACK_LIVE_STACK=1 (68-100 min with its lab, beyond CI's 90 min)"),
]

HYPERVISORS = ("node1", "node2")


def pcmk(node: str) -> str:
    """A lab node's Pacemaker name: its host's `uname -n`."""
    from hastack.config.load import load_stack

    config = load_stack("lab")
    nodes = list(config.hypervisor.nodes) + list(config.guest.nodes)
    return next(n.pacemaker_name for n in nodes if n.name == node)


# The stack's state outlives the run (not in pytest's temporary directories, which a second
# pytest run on the machine prunes): a failed run can be inspected, or continued by hand.
STATE = ROOT / "out" / "live-stack-state"
LOGS = ROOT / "out" / "live-stack"  # each pulumi command's whole output, numbered
_commands = itertools.count(1)


@pytest.fixture(scope="module")
def env(live_lab):
    shutil.rmtree(STATE, ignore_errors=True)
    (STATE / "backend").mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        PULUMI_BACKEND_URL=f"file://{STATE / 'backend'}",
        PULUMI_HOME=str(STATE / "pulumi-home"),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE="hastack-lab",
    )
    run(["pulumi", "stack", "init", "lab"], env=env)
    shutil.rmtree(LOGS, ignore_errors=True)
    return env


def diagnostics(stdout: str) -> str:
    """Pulumi's "Diagnostics:" section (what failed, on which host), which the outputs that follow
    it would push out of a tail."""
    start = stdout.find("Diagnostics:")
    if start < 0:
        return stdout[-4000:]
    ends = [i for i in (stdout.find("\nOutputs:", start), stdout.find("\nResources:", start)) if i > 0]
    return stdout[start:min(ends) if ends else None][-12000:]


def pulumi(env, *args, check=True, timeout=2400):
    # As bin/main runs it: yielding to the emulated hosts that share this machine's cores.
    result = run(["nice", "-n", "10", "pulumi", *args, "--stack", "lab"], env=env, check=False, timeout=timeout)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{next(_commands):02d}-{args[0]}.log"
    log.write_text(f"$ pulumi {' '.join(args)}\nexit {result.returncode}\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    if check and result.returncode != 0:
        raise AssertionError(f"pulumi {' '.join(args)} exited {result.returncode} (whole output: {log})\n"
                             f"{diagnostics(result.stdout)}\nstderr:\n{result.stderr[-2000:]}")
    return result


def crm_mon(node="node1") -> dict:
    return parse_crm_mon(ssh(node, "crm_mon -1 --output-as=xml").stdout)


def config() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.lab.yaml").read_text())


# Every CIB the cluster acted on.  The scheduler on the DC saves each input it computes a
# transition from (/var/lib/pacemaker/pengine/pe-input-N.bz2, pe-warn-N.bz2 when it warned), and
# nothing starts except through a transition: a resource that could have started without its
# constraints would be unguarded in one of them.  Exact where polling the CIB is a sample, and
# free where polling cost an emulated host's CPU (cibadmin every 0.5 s on a one-vCPU host).
SCHEDULER_INPUTS = "/var/lib/pacemaker/pengine"
CLUSTERS = {"hypervisor": ("node1", "node2"), "guest": ("pg1", "pg2")}


def _scheduler_inputs(node: str) -> list[tuple[str, str]]:
    """(file, CIB) for every scheduler input on the node (the DC may have moved)."""
    listing = (f"cd {SCHEDULER_INPUTS} 2>/dev/null || exit 0; "
               "for f in $(ls -v pe-input-*.bz2 pe-warn-*.bz2 2>/dev/null); do "
               "echo \"<!--input $f-->\"; bzcat $f; done")
    parts = ssh(node, listing, timeout=600).stdout.split("<!--input ")[1:]
    return [(f"{node}:{name}", cib) for name, cib in (part.split("-->", 1) for part in parts)]


@pytest.fixture(scope="module")
def applied(env, times):
    start = time.monotonic()
    result = pulumi(env, "up", "--yes", "--skip-preview")
    times["pulumi_up_full_seconds"] = time.monotonic() - start
    print(result.stdout[-3000:])
    result.scheduler_inputs = {cluster: [i for node in nodes for i in _scheduler_inputs(node)]
                               for cluster, nodes in CLUSTERS.items()}
    return result


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
            assert ssh(node, f"test -f /etc/drbd.d/{vm['name']}.res && virsh dominfo {vm['name']} >/dev/null").returncode == 0
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


def test_a_second_up_changes_nothing(applied, env, times):
    start = time.monotonic()
    pulumi(env, "preview", "--expect-no-changes")
    result = pulumi(env, "up", "--yes", "--skip-preview")
    times["pulumi_up_noop_seconds"] = time.monotonic() - start
    assert "to create" not in result.stdout and "to update" not in result.stdout and "to delete" not in result.stdout


def _steps(preview_json: str) -> dict[str, str]:
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in json.loads(preview_json)["steps"]}


def test_refresh_finds_hand_edits_and_up_repairs_them(applied, env):
    ssh("node1", "cibadmin --modify --xml-text '<rsc_location id=\"loc-gw1-vm-prefers-node1\" score=\"50\"/>'")
    ssh("node2", "echo '# hand edit' >> /etc/drbd.d/mgmt.res")
    steps = _steps(pulumi(env, "preview", "--refresh", "--json").stdout)
    assert steps.get("gw1-location") == "update"
    assert steps.get("mgmt-drbd") == "update"
    pulumi(env, "up", "--refresh", "--yes", "--skip-preview")
    cib = ssh("node1", "cibadmin --query --scope constraints").stdout
    assert 'id="loc-gw1-vm-prefers-node1"' in cib and 'score="100"' in cib.split('id="loc-gw1-vm-prefers-node1"')[1][:80]
    assert "# hand edit" not in ssh("node2", "cat /etc/drbd.d/mgmt.res").stdout


def test_operators_ha_motion_is_not_drift(applied, env):
    """A VM that Pacemaker moved is motion, not configuration: refresh must not want to change it."""
    ssh("node1", f"crm_resource --move --resource gw1-vm --node {pcmk('node2')} --lifetime PT10M")
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") == [pcmk("node2")], timeout=300, interval=5, what="gw1-vm on node2")
    steps = _steps(pulumi(env, "preview", "--refresh", "--json").stdout)
    assert not [urn for urn, op in steps.items() if op not in ("same", "refresh", "read")], steps
    ssh("node1", "crm_resource --clear --resource gw1-vm")
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") == [pcmk("node1")], timeout=300, interval=5, what="gw1-vm back home")


def test_stack_reference_consumer_reads_the_outputs(applied, env):
    consumer = ROOT / "examples" / "consumer"
    run(["pulumi", "stack", "init", "dev"], env=env, cwd=consumer)
    run(["pulumi", "config", "set", "hastackStack", "organization/hastack/lab", "--stack", "dev"], env=env, cwd=consumer)
    run(["pulumi", "up", "--yes", "--skip-preview", "--stack", "dev"], env=env, cwd=consumer)
    outputs = json.loads(run(["pulumi", "stack", "output", "--json", "--stack", "dev"], env=env, cwd=consumer).stdout)
    assert outputs["cluster_name"] == "lab"
    assert outputs["drbd_minors"] == {vm["name"]: vm["drbd_minor"] for vm in config()["config"]["hastack:vms"]}
    assert outputs["postgres_vip"] == config()["config"]["hastack:guest"]["vip"]
    run(["pulumi", "stack", "rm", "--yes", "--force", "--stack", "dev"], env=env, cwd=consumer)
    for leftover in consumer.glob("Pulumi.dev.yaml"):
        leftover.unlink()


def _config_without(tmp_path: Path, vm_name: str) -> Path:
    document = config()
    document["config"]["hastack:vms"] = [v for v in document["config"]["hastack:vms"] if v["name"] != vm_name]
    path = tmp_path / f"Pulumi.lab-without-{vm_name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_failed_step_leaves_a_state_the_next_up_completes(applied, env, tmp_path):
    """Break node2 for gw1's DRBD file, remove and re-add gw1: the failure names host and
    command, nothing of gw1 starts unconstrained, and the next up completes it."""
    without = _config_without(tmp_path, "gw1")
    pulumi(env, "up", "--yes", "--skip-preview", "--config-file", str(without))
    # node2's /etc/drbd.d refuses new files: gw1's create stops after node1's create-md and up.
    # (Not a directory named gw1.res: drbdadm then fails to parse every resource on node2, and
    # each clone's monitor there reports "not installed", a hard ban.)
    ssh("node2", "chattr +i /etc/drbd.d")
    try:
        failed = pulumi(env, "up", "--yes", "--skip-preview", check=False)
    finally:
        ssh("node2", "chattr -i /etc/drbd.d")
    assert failed.returncode != 0
    assert "node2" in failed.stdout + failed.stderr and "gw1.res" in failed.stdout + failed.stderr
    assert "gw1-vm" not in ssh("node1", "cibadmin --query --scope resources").stdout
    pulumi(env, "up", "--yes", "--skip-preview")
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") == [pcmk("node1")], timeout=600, interval=10, what="gw1-vm back")


def test_removing_a_vm_tears_it_down_and_leaves_nothing(applied, env, tmp_path):
    pulumi(env, "up", "--yes", "--skip-preview", "--config-file", str(_config_without(tmp_path, "mgmt")))
    assert "mgmt" not in ssh("node1", "cibadmin --query --scope configuration").stdout
    for node in HYPERVISORS:
        # /etc/libvirt/qemu: the config file VirtualDomain keeps where it stopped the domain.
        left = ssh(node, "ls /etc/drbd.d /etc/libvirt/qemu; virsh list --all --name; "
                         "lvs --noheadings -o lv_name vg-data", check=False).stdout
        assert "mgmt" not in left, f"{node} still has: {left}"
    pulumi(env, "up", "--yes", "--skip-preview")  # and back, for the tests after this one


def test_destroy_tears_everything_down(applied, env):
    pulumi(env, "destroy", "--yes", "--skip-preview")
    for node in HYPERVISORS:
        left = ssh(node, "ls /etc/drbd.d /etc/libvirt/qemu; virsh list --all --name; "
                         "lvs --noheadings -o lv_name vg-data; systemctl is-active pacemaker || true", check=False).stdout
        for vm in config()["config"]["hastack:vms"]:
            assert all(f"{vm['name']}{end}" not in left for end in (".res", ".xml")) and f"lv-{vm['name']}" not in left
        assert "inactive" in left or "failed" in left
        cluster_files = ssh(node, "ls -d /etc/corosync/corosync.conf /etc/corosync/authkey "
                                  "/var/lib/pacemaker/cib/cib* 2>/dev/null", check=False).stdout
        assert not cluster_files.strip(), f"{node} still has: {cluster_files}"
