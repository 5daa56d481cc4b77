"""A fourth link in the guest chain (a connection pooler after pgsql, before the VIP) is one config
entry: a copy of the lab5 stack file with it is rendered (real pcs -f, crm_verify), read back by
the providers without drift, passed by the policy pack, and simulated (crm_simulate)."""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from hastack.config.load import PROJECT_ROOT, load_stack

pytestmark = [pytest.mark.tools, pytest.mark.timeout(900)]

POOLER = """\
    chain_extras:
      - id: pgbouncer
        after: pgsql
        agent: ocf:heartbeat:anything
        params: {binfile: /usr/bin/pgbouncer, cmdline_options: /etc/pgbouncer/pgbouncer.ini, user: pgbouncer}
        ops: [{name: monitor, interval: 10s, timeout: 20s}]
"""


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    """The lab5 config with the pooler, loaded from a copy of Pulumi.lab5.yaml, and its render."""
    from commands.render import render

    root = tmp_path_factory.mktemp("pooled")
    text = (PROJECT_ROOT / "Pulumi.lab5.yaml").read_text()
    anchor = "    vip_cidr_netmask: 24\n"
    assert text.count(anchor) == 1
    (root / "Pulumi.lab5.yaml").write_text(text.replace(anchor, anchor + POOLER))
    config = load_stack("lab5", root=root)
    out = root / "render"
    render(config, "lab5", out)
    yield config, out
    shutil.rmtree(root, ignore_errors=True)


def test_render_puts_the_pooler_between_pgsql_and_the_vip(pooled):
    from hastack.pacemaker import constraint, primitive

    config, out = pooled
    cib = (out / "guest/cib.xml").read_text()
    pooler = primitive.read(cib, "pgbouncer")
    assert pooler.agent == "ocf:heartbeat:anything" and pooler.params["binfile"] == "/usr/bin/pgbouncer"
    assert "target-role" not in pooler.meta  # enabled at the end, after its constraints
    orders = {(o.get("first"), o.get("then")) for o in ET.fromstring(cib).iter("rsc_order")}
    assert orders == {("drbd-pgdata-clone", "pgdata-fs"), ("pgdata-fs", "pgsql"), ("pgsql", "pgbouncer"),
                      ("pgbouncer", "pgvip")}
    assert constraint.read(cib, "col-pgvip-with-pgbouncer").with_resource == "pgbouncer"
    assert constraint.read(cib, "col-pgbouncer-with-pgsql").with_resource == "pgsql"
    assert constraint.unguarded_resources(cib) == []
    verify = subprocess.run(["crm_verify", "--xml-file", str(out / "guest/cib.xml"), "-V"], capture_output=True, text=True)
    assert verify.returncode == 0 and "error" not in (verify.stdout + verify.stderr).lower()


def test_the_providers_read_the_rendered_chain_back_without_drift(pooled):
    from commands.render import plain, record_stack
    from hastack.resources.registry import hastack_type
    from providers.pcs_constraint import PcsConstraintProvider
    from providers.pcs_resource import PcsResourceProvider
    from providers.pcs_resource_enable import PcsResourceEnableProvider

    config, out = pooled
    cib = (out / "guest/cib.xml").read_text()
    providers = {"PcsResource": PcsResourceProvider(), "PcsConstraint": PcsConstraintProvider(),
                 "PcsResourceEnable": PcsResourceEnableProvider()}
    seen = []
    for resource in record_stack(config, "lab5"):
        provider = providers.get(hastack_type(resource.typ))
        if provider is None or resource.inputs.get("layer") != "guest":
            continue
        props = provider._props(plain(resource.inputs))
        assert provider.kind.drifted(props, provider.kind.observe(props, cib)) == (), resource.name
        seen.append(resource.name)
    assert {"pgcluster-pgbouncer", "pgcluster-ord-pgsql-then-pgbouncer", "pgcluster-col-pgbouncer-with-pgsql",
            "pgcluster-ord-pgbouncer-then-pgvip", "pgcluster-pgbouncer-enable"} <= set(seen)


def test_the_policy_pack_checks_the_pooler_as_a_link_of_the_chain(pooled):
    from commands.render import policy_resources
    from hastack import policy_rules
    from hastack.reports import Severity

    config, _out = pooled
    resources, secrets = policy_resources(config, "lab5")
    assert [r for r in policy_rules.run_pack(resources, secrets) if r.severity == Severity.ERROR] == []
    without = [r for r in resources if r.name != "pgcluster-ord-pgsql-then-pgbouncer"]
    [finding] = [f for f in policy_rules.run_all(without, secrets) if f.rule == "guest-chain-complete"]
    assert finding.resource == "pgcluster-pgbouncer"
    assert "pgbouncer is not ordered after start of pgsql" in finding.message


def test_simulate_hands_the_longer_chain_over_in_order(pooled):
    from hastack.scenarios import run_scenarios

    config, out = pooled
    outcomes = {o.id: o for o in run_scenarios(config, out, ["A1", "A2a", "A3", "A4"])}
    assert {sid: o.ok for sid, o in outcomes.items()} == {"A1": True, "A2a": True, "A3": True, "A4": True}, \
        {sid: [c for c in o.checks if not c.ok] for sid, o in outcomes.items()}
    handoff = next(c for c in outcomes["A1"].checks if c.what == "the handoff is ordered (graph edges)")
    assert "stop pgvip, pgbouncer, pgsql, pgdata-fs on" in handoff.detail
    assert "start pgdata-fs, pgsql, pgbouncer, pgvip" in handoff.detail
    assert "pgbouncer, pgvip stop, pgsql restarts" in outcomes["A4"].expectation
