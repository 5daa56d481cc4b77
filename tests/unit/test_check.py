"""`python -m hastack check` refuses what `pulumi preview --policy-pack policy` would, offline."""
from __future__ import annotations

import copy
import json

import pytest

from commands import cli
from hastack.config.load import raw_config, stack_file, unseal, validate


@pytest.fixture()
def broken_stack(root, monkeypatch):
    """`check --stack lab5` reads the lab5 config with the changes the test makes to `raw`."""
    raw = copy.deepcopy(unseal(raw_config(stack_file("lab5", root))))
    monkeypatch.setattr("hastack.config.load.load_stack", lambda stack: validate(raw, f"Pulumi.{stack}.yaml"))
    return raw


# The lab stack passes too once a lab has written its keys (tests/lab/test_lab.py checks it there).
@pytest.mark.parametrize("stack", ["lab5"])
def test_the_shipped_stacks_pass_check(stack, capsys):
    assert cli.main(["check", "--stack", stack]) == 0
    out, err = capsys.readouterr()
    assert f"{stack}: valid" in out and "the policy pack passes" in out
    assert "ERROR" not in err and "WARNING POLICY: failback-declared-allowed" in err  # both declare it


def test_a_stack_breaking_policy_rules_is_refused_with_the_rules_messages(broken_stack, capsys):
    broken_stack["hypervisor"]["properties"]["stonith-enabled"] = "false"
    broken_stack["guest"]["fencing"]["timeout"] = "60s"  # valid config, shorter than a VM's stop + start
    assert cli.main(["check", "--stack", "lab5"]) == 2
    out, err = capsys.readouterr()
    assert "ERROR POLICY: stonith-enabled [lab5-cluster-config] hypervisor cluster: stonith-enabled='false'" in err
    assert 'set hypervisor.properties.stonith-enabled: "true"' in err
    assert "ERROR POLICY: guest-fence-timeout" in err and "60s" in err
    assert "refused by the policy pack" in err and "policy pack passes" not in out


def test_a_pulumi_policy_config_lowers_a_rule_as_preview_would(broken_stack, tmp_path, capsys):
    broken_stack["hypervisor"]["properties"]["stonith-enabled"] = "false"
    levels = tmp_path / "policy.json"
    levels.write_text(json.dumps({"stonith-enabled": {"enforcementLevel": "advisory"},
                                  "failback-declared-allowed": "disabled"}))
    assert cli.main(["check", "--stack", "lab5", "--policy-config", str(levels)]) == 0
    _out, err = capsys.readouterr()
    assert "WARNING POLICY: stonith-enabled" in err and "failback-declared-allowed" not in err


def test_an_unreadable_policy_config_is_a_clear_error(broken_stack, tmp_path, capsys):
    levels = tmp_path / "policy.json"
    levels.write_text("{not json")
    assert cli.main(["check", "--stack", "lab5", "--policy-config", str(levels)]) == 2
    assert "ERROR POLICY_CONFIG:" in capsys.readouterr().err


def test_an_invalid_config_is_refused_before_the_policy_pack_runs(root, monkeypatch, capsys):
    raw = copy.deepcopy(unseal(raw_config(stack_file("lab5", root))))
    raw["hypervisor"]["properties"] = {"stonith-enable": "false"}  # the misspelling would drop fencing's setting
    monkeypatch.setattr("hastack.config.load.load_stack", lambda stack: validate(raw, f"Pulumi.{stack}.yaml"))
    assert cli.main(["check", "--stack", "lab5"]) == 2
    err = capsys.readouterr().err
    assert "ERROR CONFIG_INVALID" in err and "did you mean 'stonith-enabled'?" in err and "POLICY" not in err


def test_a_known_hosts_file_that_does_not_exist_is_named_with_its_fix(root, monkeypatch, capsys):
    """The lab stack before any `lab up` (a fresh clone): its hypervisors' keys come from the lab's
    known_hosts, which the guests' fence account pins."""
    raw = copy.deepcopy(unseal(raw_config(stack_file("lab", root))))
    for node in raw["hypervisor"]["nodes"]:
        node["ssh"]["known_hosts_file"] = ".lab/no-such-known_hosts"
    monkeypatch.setattr("hastack.config.load.load_stack", lambda stack: validate(raw, f"Pulumi.{stack}.yaml"))
    assert cli.main(["check", "--stack", "lab"]) == 2
    err = capsys.readouterr().err
    assert "KNOWN_HOSTS_MISSING" in err and ".lab/no-such-known_hosts does not exist" in err
    assert "python -m hastack lab up" in err and "Traceback" not in err
