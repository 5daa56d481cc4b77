"""Monitoring on the live lab (issue 16): after the session's `up`, the lab's Nagios server
(hastack/lab/nagios.py) knows every guest and their NRPE services go OK; a failed resource in each
layer, and each layer's fencing (the drills' H3 and A3, or a guest fence made here), reach Nagios's
log as passive results of the cluster's feed within seconds of the event; destroying a guest's VM
removes its Nagios objects and `up` puts them back.

Runs only with hastack:monitoring switched on in Pulumi.lab.yaml (it needs the lab image with NRPE
and send_nsca, and a lab whose Nagios started: `lab up` with the unpacked packages); after the
drills, which it reads the fencing of, and before test_stack_changes_live destroys the stack."""
from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime

import pytest
from labhelpers import ssh, wait_for
from stackhelpers import config, crm_mon, pcmk, pulumi

from hastack.facts.status import running_on
from hastack.lab import lab as lab_mod
from hastack.lab.paths import lab_dir
from hastack.lab.topology import NAGIOS_SSH_PORT

pytestmark = [pytest.mark.lab, pytest.mark.timeout(3600)]
MONITORING = config()["config"].get("hastack:monitoring") or {}
if not MONITORING.get("enabled", True) or not MONITORING:
    pytestmark.append(pytest.mark.skip(reason="hastack:monitoring is off in Pulumi.lab.yaml (enabled: false): turn it "
                                              "on, with the lab image that has NRPE and send_nsca, to run these"))
GUESTS = ("pg1", "pg2")
SERVICES = ("CPU Load", "Disk /", "Users", "Swap", "Pacemaker")
FEED = "Pacemaker events"
CLUSTER = {"hypervisor": "lab", "guest": "pgcluster"}
OBJECTS_DIR = "/etc/nagios4/conf.d/hastack"
LATENCY_S = 15  # "within seconds": the event's own timestamp to Nagios's log line, on emulated hosts


def nagios(command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """COMMAND on the lab's Nagios server, through its pinned loopback forward."""
    lab = lab_dir()
    argv = ["ssh", "-i", str(lab / "id_ed25519"), "-p", str(NAGIOS_SSH_PORT),
            "-o", f"UserKnownHostsFile={lab / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "root@127.0.0.1", command]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"nagios: {command!r} failed ({r.returncode}): {r.stdout}{r.stderr}"
    return r


def status() -> dict[tuple[str, str], int]:
    """(host, service) -> current_state, from Nagios's status.dat."""
    text = nagios("cat /var/lib/nagios4/status.dat").stdout
    out = {}
    for block in re.findall(r"servicestatus \{(.*?)\n\s*\}", text, re.S):
        fields = dict(line.strip().split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("has_been_checked") == "1":
            out[(fields["host_name"], fields["service_description"])] = int(fields["current_state"])
    return out


# [epoch] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;<cluster>;<feed>;<state>;[<event time>] <text> (from <node>)
RESULT = re.compile(r"^\[(\d+)\] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;([^;]+);([^;]+);(\d);\[([^\]]+)\] (.*)$")


def feed_results(since: float = 0) -> list[dict]:
    """The passive results of the clusters' feeds in Nagios's log, with the delay from the event's own
    time (CRM_alert_timestamp, the node's clock) to Nagios's log line."""
    out = []
    for line in nagios("cat /var/log/nagios4/nagios.log").stdout.splitlines():
        m = RESULT.match(line)
        if not m or m.group(3) != FEED or int(m.group(1)) < since:
            continue
        logged = int(m.group(1))
        day = datetime.fromtimestamp(logged).strftime("%Y-%m-%d")
        try:
            event = datetime.strptime(f"{day} {m.group(5)[:15]}", "%Y-%m-%d %H:%M:%S.%f").timestamp()
        except ValueError:
            event = None
        out.append({"logged": logged, "cluster": m.group(2), "state": int(m.group(4)), "text": m.group(6),
                    "delay": None if event is None else logged - event})
    return out


@pytest.mark.expected_seconds(480)
def test_nagios_knows_every_guest_and_their_services_go_ok(applied):
    files = nagios(f"ls {OBJECTS_DIR}").stdout.split()
    assert sorted(files) == sorted([*(f"{g}.cfg" for g in GUESTS), "cluster-lab.cfg", "cluster-pgcluster.cfg",
                                    "hastack-passive-only.cfg"])
    assert "Total Errors:   0" in nagios("nagios4 -v /etc/nagios4/nagios.cfg").stdout
    # Checked now, not at their next 5-minute slot.
    now = int(time.time())
    nagios("for h in " + " ".join(GUESTS) + "; do printf '[%d] SCHEDULE_FORCED_HOST_SVC_CHECKS;%s;%d\\n' "
           f"{now} \"$h\" {now} > /var/lib/nagios4/rw/nagios.cmd; done")
    wanted = [(g, s) for g in GUESTS for s in SERVICES]

    def all_ok() -> bool:
        states = status()
        return all(states.get(k) == 0 for k in wanted)

    try:
        wait_for(all_ok, timeout=600, interval=15, what="every guest service OK in Nagios")
    except AssertionError:
        states = status()
        raise AssertionError(f"not OK: {[(k, states.get(k)) for k in wanted if states.get(k) != 0]}") from None


def _fail_and_see(layer: str, resource: str, node: str, since: float) -> dict:
    ssh(node, f"crm_resource --fail --resource {resource} --node {pcmk(node)}")
    try:
        found = []

        def seen() -> bool:
            found[:] = [r for r in feed_results(since) if r["cluster"] == CLUSTER[layer] and resource in r["text"]
                        and r["state"] == 2]
            return bool(found)

        wait_for(seen, timeout=120, interval=3, what=f"a CRITICAL result for {resource} in the {layer} feed")
        return found[0]
    finally:
        # Only after the recovery: a cleanup between its stop and start fails the start, and the
        # controller then fails every pending monitor of the node.
        ssh(node, "crm_resource --wait --timeout 600s", check=False, timeout=660)
        ssh(node, f"crm_resource --cleanup --resource {resource}", check=False)


@pytest.mark.expected_seconds(240)
def test_a_failed_resource_in_each_layer_is_a_passive_result_within_seconds(applied):
    since = time.time() - 5
    vm_node = next(n for n in ("node1", "node2") if pcmk(n) in running_on(crm_mon(), "gw1-vm"))
    guest = next(g for g in GUESTS if pcmk(g) in running_on(crm_mon("pg1"), "pgvip"))
    for layer, resource, node in (("hypervisor", "gw1-vm", vm_node), ("guest", "pgvip", guest)):
        result = _fail_and_see(layer, resource, node, since)
        assert result["delay"] is not None and result["delay"] <= LATENCY_S, result
        assert "FAILED" in result["text"] and f"(from {pcmk(node).split('.')[0]}" in result["text"], result
    # and both recover: the feed says so too (OK results after the failures)
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") and running_on(crm_mon("pg1"), "pgvip"), timeout=900,
             interval=15, what="gw1-vm and pgvip running again")
    assert any(r["state"] == 0 and "pgvip start" in r["text"] for r in feed_results(since))


@pytest.mark.expected_seconds(300)
def test_fencing_in_each_layer_reaches_nagios_within_seconds(applied):
    """The drills of this session fenced a hypervisor (H3: node1 lost) and a guest (A3); without
    them a guest is fenced here (a hypervisor's fence costs the lab ~15 min: H3 is its test)."""
    fenced = {layer: [r for r in feed_results() if r["cluster"] == cluster and " fenced (" in r["text"]]
              for layer, cluster in CLUSTER.items()}
    if not fenced["guest"]:
        since = time.time() - 5
        ssh("pg2", f"stonith_admin --reboot {pcmk('pg1')} --timeout 600", timeout=700)
        wait_for(lambda: any(" fenced (" in r["text"] for r in feed_results(since) if r["cluster"] == "pgcluster"),
                 timeout=120, interval=3, what="pg1's fencing in the guest feed")
        fenced["guest"] = [r for r in feed_results(since) if r["cluster"] == "pgcluster" and " fenced (" in r["text"]]
    for layer, results in fenced.items():
        if not results:
            pytest.skip(f"no {layer} fencing in this session's feed (run test_drills_live's H3 first)")
        assert all(r["state"] == 1 and r["delay"] is not None and r["delay"] <= LATENCY_S for r in results), results


def _urn(stack_env, type_token: str, name: str) -> str:
    state = json.loads(pulumi(stack_env, "stack", "export").stdout)
    return next(r["urn"] for r in state["deployment"]["resources"]
                if r["type"] == type_token and r["urn"].endswith(f"::{name}"))


@pytest.mark.expected_seconds(720)
def test_destroying_a_guests_vm_removes_its_nagios_objects_and_up_puts_them_back(applied, stack_env):
    """The guest layer runs on both guests' VMs, so it goes with pg2's, and with it the guests' objects;
    the clusters' feeds and the command stay, and Nagios still accepts its configuration."""
    pulumi(stack_env, "destroy", "--yes", "--skip-preview", "--target-dependents",
           "--target", _urn(stack_env, "hastack:index:ProtectedVM", "pg2"))
    left = nagios(f"ls {OBJECTS_DIR}").stdout.split()
    assert "pg2.cfg" not in left and "cluster-lab.cfg" in left and "hastack-passive-only.cfg" in left, left
    assert "Total Errors:   0" in nagios("nagios4 -v /etc/nagios4/nagios.cfg").stdout
    pulumi(stack_env, "up", "--yes", "--skip-preview")
    assert "pg2.cfg" in nagios(f"ls {OBJECTS_DIR}").stdout.split()
    wait_for(lambda: running_on(crm_mon("pg1"), "pgvip"), timeout=900, interval=15, what="pgvip back")


def test_the_lab_nagios_is_one_of_the_labs_processes():
    """`lab down` stops it with the rest: its supervisor is known by the lab directory."""
    state = lab_mod.load_state(lab_dir())
    assert state.get("nagios") and lab_mod.owned(state["nagios"], lab_dir())
