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


@pytest.fixture()
def lab_keys(tmp_path, monkeypatch):
    """Stand-in for the known_hosts a lab writes (`lab up`): the lab stack's guests pin the
    hypervisors' keys from it; tests/lab/test_lab.py checks the lab stack with the real one."""
    known_hosts = tmp_path / ".lab" / "known_hosts"
    known_hosts.parent.mkdir()
    known_hosts.write_text("".join(f"[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{port}\n"
                                   for port in (22201, 22202)))
    monkeypatch.setattr("components.guest_pg_cluster.PROJECT_ROOT", tmp_path)


@pytest.mark.parametrize("stack", ["lab5", "lab"])
def test_the_shipped_stacks_pass_check(stack, request, capsys):
    if stack == "lab":
        request.getfixturevalue("lab_keys")
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


def test_every_rule_of_the_pack_reaches_check_at_its_level(broken_stack, monkeypatch, capsys):
    """check runs the pack's own rule list: each rule's finding is printed with its message, a
    mandatory one refuses the stack and an advisory one only warns."""
    import dataclasses

    from hastack import policy_rules

    def finding(rule):
        return lambda resources, options=None, secret_paths=None: [
            policy_rules.Finding(rule.name, "res-1", f"message of {rule.name}")]

    rules = tuple(dataclasses.replace(rule, check=finding(rule)) for rule in policy_rules.RULES)
    monkeypatch.setattr(policy_rules, "RULES", rules)
    assert cli.main(["check", "--stack", "lab5"]) == 2
    err = capsys.readouterr().err
    for rule in rules:
        level = "WARNING" if rule.advisory else "ERROR"
        assert f"{level} POLICY: {rule.name} [res-1] message of {rule.name}" in err
    mandatory = sum(not rule.advisory for rule in rules)
    assert f"refused by the policy pack: {mandatory} mandatory finding(s)" in err


HOSTILE_FILES = {
    "a list": ("- hastack:hypervisor: {}\n", "CONFIG_SHAPE"),
    "config a string": ("config: hastack\n", "CONFIG_SHAPE"),
    "a key twice": ("config:\n  hastack:vms: []\n  hastack:vms: []\n", "CONFIG_YAML"),
    "a syntax error by a secret": ("config:\n  hastack:hypervisor: {bmc: {password: s3cr3t: x}}\n", "CONFIG_YAML"),
    "a numeric password": (None, "CONFIG_INVALID"),
    "a misspelt password field": (None, "CONFIG_INVALID"),
}


@pytest.mark.parametrize("what", HOSTILE_FILES)
def test_check_refuses_a_hostile_stack_file_with_a_clear_error(root, tmp_path, monkeypatch, capsys, what):
    from hastack.config import load

    text, code = HOSTILE_FILES[what]
    if text is None:
        lab5 = (root / "Pulumi.lab5.yaml").read_text()
        bmc_password = lab5[lab5.index("password:", lab5.index("bmc:")):]
        bmc_password = bmc_password[:bmc_password.index("\n", bmc_password.index("secure:"))]
        text = lab5.replace(bmc_password, "password: 73519264" if what == "a numeric password"
                            else "passwd: s3cr3t", 1)
    (tmp_path / "Pulumi.hostile.yaml").write_text(text)
    monkeypatch.setattr(load, "load_stack", lambda stack, real=load.load_stack: real(stack, tmp_path))
    assert cli.main(["check", "--stack", "hostile"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"ERROR {code}: "), err
    assert "Traceback" not in err and "73519264" not in err + out and "s3cr3t" not in err + out
    if what.endswith("password") or what.endswith("field"):
        assert "hastack:hypervisor.nodes[0].bmc.pass" in err
