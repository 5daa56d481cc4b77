"""hastack:monitoring in the stack (components/monitoring.py): the real program under Pulumi's mocks,
as `render` runs it.  Without the block, or with it switched off, the stack is exactly as before;
with it, each alerting layer's nodes get the agent and its secret client config before the alert
that runs it, the guests NRPE behind a firewall opening for the Nagios server alone, and the server
one NagiosObjects per guest and per cluster."""
from __future__ import annotations

import copy

import pytest

from hastack.config.load import validate
from hastack.render.alert_agent import AGENT_PATH, CONFIG_PATH

MONITORING = {"enabled": True, "nagios": {"address": "10.77.0.5", "ssh": {
    "host": "127.0.0.1", "port": 22205, "known_hosts_file": ".lab/known_hosts", "key_file": ".lab/id_ed25519"}},
    "nsca": {"identity": "hastack-lab", "password": "wiring-secret-3"}}
NEW = {"lab-alert-agent", "lab-alert-nsca-config", "pgcluster-alert-agent", "pgcluster-alert-nsca-config",
       "pgcluster-check-pacemaker", "pgcluster-nrpe-sudoers", "pgcluster-nrpe-config", "pgcluster-nrpe-dropin",
       "pgcluster-nrpe-enabled", "monitoring-nsca-authorize", "monitoring-command", "monitoring-pg1", "monitoring-pg2",
       "monitoring-cluster-lab", "monitoring-cluster-pgcluster"}


@pytest.fixture()
def stacks(record, lab_raw):
    """The lab stack's resources without the block, with it switched off, and with it on."""
    off = copy.deepcopy(lab_raw)
    off["monitoring"]["enabled"] = False
    on = copy.deepcopy(lab_raw)
    on["monitoring"] = copy.deepcopy(MONITORING)
    none = {k: v for k, v in lab_raw.items() if k != "monitoring"}
    return {name: record(validate(raw, name)) for name, raw in (("none", none), ("off", off), ("on", on))}


def test_without_monitoring_or_with_it_off_the_stack_is_exactly_as_before(stacks):
    assert stacks["off"] == stacks["none"]
    assert set(stacks["on"]) - set(stacks["none"]) == NEW


def test_the_alert_agent_is_on_every_node_of_both_layers_before_the_alert_that_runs_it(stacks):
    on = stacks["on"]
    for cluster, layer in (("lab", "hypervisor"), ("pgcluster", "guest")):
        _t, agent, _d = on[f"{cluster}-alert-agent"]
        _t, client, _d = on[f"{cluster}-alert-nsca-config"]
        assert agent["path"] == AGENT_PATH and agent["mode"] == 0o755 and agent["layer"] == layer
        assert len(agent["nodes"]) == 2
        assert f"NAGIOS_HOST={cluster}" in agent["content"] and "wiring-secret-3" not in agent["content"]
        assert (client["path"], client["mode"], client["owner"], client["secret"]) == (CONFIG_PATH, 0o600, "hacluster", True)
        assert 'password = "wiring-secret-3"' in client["content"]
        _t, config, depends = on[f"{cluster}-cluster-config"]
        assert {f"{cluster}-alert-agent", f"{cluster}-alert-nsca-config"} <= set(depends)
        assert [a for a in config["alerts"] if a["path"] == AGENT_PATH] == [
            {"id": "nsca-alert", "path": AGENT_PATH, "recipients": [["nsca-recipient", "nagios"]]}]
    assert all(not c[1]["alerts"] for n, c in stacks["none"].items() if n.endswith("-cluster-config"))


def test_the_client_password_is_a_secret_in_the_program(record, lab_raw, monkeypatch):
    """Marked secret where the program hands it to Pulumi (so state and preview mask it)."""
    from commands.render import record_stack
    from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

    raw = copy.deepcopy(lab_raw)
    raw["monitoring"] = copy.deepcopy(MONITORING)
    recorded = {r.name: r.inputs for r in record_stack(validate(raw, "on"), "lab")}
    for name in ("lab-alert-nsca-config", "pgcluster-alert-nsca-config", "monitoring-nsca-authorize"):
        content = recorded[name]["content"]
        assert isinstance(content, dict) and content.get(_special_sig_key) == _special_secret_sig, name
    leaked = [n for n, inputs in recorded.items() if "wiring-secret-3" in repr({k: v for k, v in inputs.items()
                                                                                if k != "content"})]
    assert leaked == []


def test_nrpe_opens_to_the_nagios_server_only_and_its_objects_wait_for_nrpe_and_the_vm(stacks):
    on = stacks["on"]
    for guest in ("pg1", "pg2"):
        _t, wall, _d = on[f"pgcluster-firewall-{guest}"]
        nrpe = [o for o in wall["openings"][guest] if o["ports"] == [5666, 5666]]
        assert [(o["proto"], o["sources"]) for o in nrpe] == [("tcp", ["10.77.0.5"])]
        _t, objects, depends = on[f"monitoring-{guest}"]
        assert list(objects["files"]) == [f"{guest}.cfg"] and objects["nodes"][0]["ssh"]["port"] == 22205
        assert {f"{guest}-enable", "pgcluster-nrpe-enabled"} <= set(depends)
    assert not any(o["ports"] == [5666, 5666] for n, (t, i, _d) in on.items() if t == "Firewall" and n.startswith("lab-")
                   for node in i["openings"].values() for o in node)
    _t, config, _d = on["pgcluster-nrpe-config"]
    assert "allowed_hosts=10.77.0.5\n" in config["content"] and config["then_argv"][-1] == "nagios-nrpe-server.service"
    _t, sudoers, _d = on["pgcluster-nrpe-sudoers"]
    assert sudoers["validate_argv"] == ["visudo", "-c", "-q", "-f"] and sudoers["mode"] == 0o440
    assert on["pgcluster-nrpe-enabled"][1]["unit"] == "nagios-nrpe-server.service"
    for feed in ("monitoring-cluster-lab", "monitoring-cluster-pgcluster"):
        assert "monitoring-command" in on[feed][2]  # the feed's check_command is defined there


def test_without_ssh_to_the_nagios_server_hastack_writes_nothing_there(record, lab_raw):
    raw = copy.deepcopy(lab_raw)
    raw["monitoring"] = copy.deepcopy(MONITORING)
    del raw["monitoring"]["nagios"]["ssh"]
    names = set(record(validate(raw, "no ssh")))
    assert not any(n.startswith("monitoring-") for n in names) and "pgcluster-nrpe-enabled" in names
