"""The policy pack through the real Pulumi CLI: `pulumi preview --policy-pack policy`.

- lab5 (the seed's cluster) passes, with the failback advisory only;
- a stack file that breaks rules through config fails, naming the resources and values;
- a small program that builds hastack resources by hand breaks what config cannot (plain fence
  password, the seed's stickiness 1 against location 100 with failback prevented) and proves the
  pack sees Pulumi's secret markers through the engine;
- a per-stack pulumi-policy config lowers a rule to advisory.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.tools, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PASSPHRASE = "hastack-lab5-example"  # the documented example passphrase of Pulumi.lab5.yaml


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    e.update(
        PATH=f"{BIN}{os.pathsep}{e.get('PATH', '')}",
        VIRTUAL_ENV=str(ROOT / ".venv"),
        PULUMI_HOME=str(tmp_path_factory.mktemp("pulumi-home")),
        PULUMI_BACKEND_URL=f"file://{tmp_path_factory.mktemp('backend')}",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        NO_COLOR="1",
        PYTHONPATH=str(ROOT),
    )
    return e


def pulumi(env, cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "pulumi"), *args, "--non-interactive"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def preview(env, cwd, stack, *extra) -> tuple[int, str]:
    init = pulumi(env, cwd, "stack", "init", stack)
    assert init.returncode == 0 or "already exists" in init.stderr, init.stderr
    proc = pulumi(env, cwd, "preview", "--stack", stack, "--policy-pack", str(ROOT / "policy"), *extra)
    return proc.returncode, proc.stdout + proc.stderr


def test_lab5_passes_with_only_advisories(env):
    rc, out = preview(env, ROOT, "lab5")
    assert rc == 0, out
    assert "[advisory]  failback-declared-allowed" in out
    assert "pg1-vm" in out and "101 or more" in out
    assert "[mandatory]" not in out
    assert re.search(r"\+ [0-9]+ to create", out)  # the whole program previewed


def test_stack_breaking_rules_through_config_fails(env):
    document = yaml.safe_load((ROOT / "Pulumi.lab5.yaml").read_text())
    config = document["config"]
    config["hastack:hypervisor"]["properties"]["stonith-enabled"] = "false"
    config["hastack:guest"]["fencing"]["timeout"] = "60s"
    config["hastack:guest"]["drbd_options"]["fencing"] = "dont-care"
    stack = f"policytest-{uuid.uuid4().hex[:8]}"
    path = ROOT / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        rc, out = preview(env, ROOT, stack)
    finally:
        path.unlink()
    assert rc != 0, out
    assert "[mandatory]  stonith-enabled" in out
    assert "hypervisor cluster: stonith-enabled='false'" in out
    assert "[mandatory]  guest-fence-timeout" in out
    assert "fence-pg1: pcmk_off_timeout=60s does not exceed the 120s" in out
    assert "[mandatory]  drbd-fencing" in out and "DRBD resource pgdata (guest): fencing policy is dont-care" in out
    # guest-fence-reaches-hypervisors: the config refuses guest fencing that misses a hypervisor
    # before the program registers anything (tests/unit/test_config.py); test_policy_rules.py
    # checks the rule on props.


PROGRAM = """\
    import pulumi
    from hastack.pacemaker.primitive import PrimitiveSpec
    from providers.pcs_cluster_config import PcsClusterConfig
    from providers.stonith_device import StonithDevice

    case = pulumi.Config().get("case") or "ok"
    nodes = [{"name": n, "ssh": {"host": h, "known_hosts_file": "keys/none"}}
             for n, h in (("node1", "192.0.2.1"), ("node2", "192.0.2.2"))]
    base = {"layer": "hypervisor", "nodes": nodes}
    for node, delay in (("node1", {}), ("node2", {"pcmk_delay_base": "15s"})):
        spec = PrimitiveSpec(id=f"fence-{node}", agent="stonith:fence_ipmilan", secret_params=("password",),
                             params={"ip": "192.0.2.11", "username": "root", "password": "", "pcmk_host_list": node,
                                     **delay})
        password = "calvin-" + node
        StonithDevice(f"fence-{node}", {**base, "spec": spec.model_dump(), "fences_node": node, "secret_values": {
            "password": password if case == "plain-password" and node == "node1" else pulumi.Output.secret(password)}})
    PcsClusterConfig("cluster-config", {
        **base, "properties": {"stonith-enabled": "true"}, "resource_defaults": {"resource-stickiness": "1"},
        "failback": "prevented" if case == "seed-stickiness" else "allowed", "location_scores": {"pg1-vm": 100}})
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("policy-program")
    (project / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: hastack-policy-check
        runtime:
          name: python
          options:
            virtualenv: {ROOT / '.venv'}
        """))
    (project / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    return project


def _case(env, program, case, *extra):
    stack = f"case-{case}"
    init = pulumi(env, program, "stack", "init", stack)
    assert init.returncode == 0 or "already exists" in init.stderr, init.stderr
    assert pulumi(env, program, "config", "set", "--stack", stack, "case", case).returncode == 0
    return preview(env, program, stack, *extra)


def test_secret_password_passes(env, program):
    rc, out = _case(env, program, "ok")
    assert rc == 0, out
    assert "fence-secrets-are-secret" not in out


def test_plain_fence_password_fails(env, program):
    rc, out = _case(env, program, "plain-password")
    assert rc != 0
    assert "[mandatory]  fence-secrets-are-secret" in out
    assert "fence-node1: secret_values.password is plain text" in out
    assert "fence-node2" not in out.split("fence-secrets-are-secret", 1)[1].split("Diagnostics")[0]


def test_seed_stickiness_fails_with_101_or_more(env, program):
    rc, out = _case(env, program, "seed-stickiness")
    assert rc != 0
    assert "[mandatory]  stickiness-exceeds-location" in out
    assert "pg1-vm prefers its preferred node with score 100 but resource-stickiness is 1" in out
    assert "101 or more" in out


def test_policy_config_lowers_a_rule_per_stack(env, program, tmp_path):
    config = tmp_path / "relaxed.json"
    config.write_text(json.dumps({"fence-secrets-are-secret": "advisory"}))
    rc, out = _case(env, program, "plain-password", "--policy-pack-config", str(config))
    assert rc == 0, out
    assert "[advisory]  fence-secrets-are-secret" in out
