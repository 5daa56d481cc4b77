"""The seed's scenarios through the real scheduler (crm_simulate) on rendered CIBs.

Assertions read what the scheduler did -- the fenced nodes from the transition graphs, placements
from crm_mon on the simulated CIB, dependency edges between actions -- never the tool's own text.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hastack.scenarios import ORDER, main, run_scenarios  # noqa: E402
from hastack.facts.status import running_on  # noqa: E402

pytestmark = [pytest.mark.tools, pytest.mark.timeout(900)]

VMS = ["gw1-vm", "gw2-vm", "mgmt-vm", "nagios-vm", "pg1-vm", "pg2-vm"]
NODE1_VMS = ["gw1-vm", "nagios-vm", "pg1-vm"]  # lab5's preferences (the seed's H-scenarios)
NODE2_VMS = ["gw2-vm", "mgmt-vm", "pg2-vm"]


@pytest.fixture(scope="module")
def config():
    from hastack.config.load import load_stack

    return load_stack("lab5")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, config) -> Path:
    from commands.render import render

    out = tmp_path_factory.mktemp("scenarios") / "lab5"
    render(config, "lab5", out)
    return out


@pytest.fixture(scope="module")
def outcomes(config, rendered) -> dict:
    started = time.monotonic()
    result = {o.id: o for o in run_scenarios(config, rendered)}
    assert time.monotonic() - started < 120
    return result


DOMAIN = ".lab5.decoursey.com"  # Pacemaker names lab5's nodes by their FQDN; the tests say node1, pg1


def short(nodes):
    return [n.removesuffix(DOMAIN) for n in nodes]


def happens(run, first, then):
    full = lambda action: (*action[:2], f"{action[2]}{DOMAIN}" if action[2] else action[2])  # noqa: E731
    return run.happens_before(full(first), full(then))


def on(run, rid, role=None, after=True):
    return short(running_on(run.after if after else run.before, rid, role))


def vms_on(run, node):
    return sorted(v for v in VMS if on(run, v) == [node])


def test_every_scenario_ran_and_met_the_stack_expectation(outcomes):
    assert list(outcomes) == list(ORDER)
    failed = {sid: [c.what for c in o.checks if not c.ok] for sid, o in outcomes.items() if not o.ok}
    assert failed == {}
    assert all(o.checks for o in outcomes.values())


def test_a1_standby_hands_the_chain_over_in_order_without_fencing(outcomes):
    run = outcomes["A1"].runs["guest"]
    assert short(run.fenced) == []
    assert on(run, "pgvip", after=False) == ["pg1"] and on(run, "pgvip") == ["pg2"]
    assert on(run, "drbd-pgdata", "Promoted") == ["pg2"]
    assert happens(run, ("stop", "pgvip", "pg1"), ("demote", "drbd-pgdata", "pg1"))
    assert happens(run, ("demote", "drbd-pgdata", "pg1"), ("promote", "drbd-pgdata", "pg2"))
    assert happens(run, ("promote", "drbd-pgdata", "pg2"), ("start", "pgvip", "pg2"))
    assert not happens(run, ("start", "pgvip", "pg2"), ("promote", "drbd-pgdata", "pg2"))


def test_a2a_survivor_fences_the_active_guest_and_takes_over(outcomes):
    o = outcomes["A2a"]
    run, loser = o.runs["guest"], o.runs["guest-loser"]
    assert short(run.fenced) == ["pg1"]
    assert on(run, "pgvip", after=False) == ["pg1"] and on(run, "pgvip") == ["pg2"]
    assert happens(run, ("stonith", "", "pg1"), ("promote", "drbd-pgdata", "pg2"))
    assert short(loser.fenced) == ["pg2"]  # without the delay both would shoot
    hv = o.runs["hypervisor"]
    assert short(hv.fenced) == [] and short(hv.ops("stop", "pg1-vm")) == ["node1"] and short(hv.ops("start", "pg1-vm")) == ["node1"]
    assert o.seed_agrees is True


def test_a2b_standby_is_fenced_and_the_vip_never_moves(outcomes):
    o = outcomes["A2b"]
    run = o.runs["guest"]
    assert short(run.fenced) == ["pg1"]
    assert on(run, "pgvip", after=False) == on(run, "pgvip") == ["pg2"]
    assert short(run.ops("start", "pgvip")) == [] and short(run.ops("stop", "pgvip")) == []
    # The seed's plan (pg1 fences pg2) contradicts its own tiebreaker; its run matched the scheduler.
    assert o.seed_agrees is False


def test_a3_killed_guest_is_fenced_and_its_vm_restarted_in_place(outcomes):
    o = outcomes["A3"]
    assert short(o.runs["guest"].fenced) == ["pg1"]
    assert on(o.runs["guest"], "pgvip") == ["pg2"]
    hv = o.runs["hypervisor"]
    assert short(hv.fenced) == [] and on(hv, "pg1-vm") == ["node1"] and short(hv.ops("start", "pg1-vm")) == ["node1"]


def test_a4_postgres_crash_restarts_in_place(outcomes):
    run = outcomes["A4"].runs["guest"]
    assert short(run.fenced) == []
    assert short(run.ops("stop", "pgsql")) == ["pg1"] and short(run.ops("start", "pgsql")) == ["pg1"]
    assert short(run.ops("promote", "drbd-pgdata")) == [] and short(run.ops("stop", "pgdata-fs")) == []
    assert on(run, "pgvip") == ["pg1"]


def test_h1_standby_moves_node1s_vms_without_fencing(outcomes):
    run = outcomes["H1"].runs["hypervisor"]
    assert short(run.fenced) == []
    assert vms_on(run, "node2") == VMS
    for vm in NODE1_VMS:
        assert short(run.ops("stop", vm)) == ["node1"] and short(run.ops("start", vm)) == ["node2"]
    for vm in NODE2_VMS:
        assert short(run.ops("stop", vm)) == []


@pytest.mark.parametrize("sid, lost, survivor, guest_lost, vip", [
    ("H2a", "node1", "node2", "pg1", "pg2"),
    ("H2b", "node2", "node1", "pg2", "pg1"),
    ("H3", "node1", "node2", "pg1", "pg2"),
])
def test_host_loss_fences_restarts_and_double_kills(outcomes, sid, lost, survivor, guest_lost, vip):
    o = outcomes[sid]
    hv = o.runs["hypervisor"]
    assert short(hv.fenced) == [lost]
    assert vms_on(hv, survivor) == VMS
    moved = NODE1_VMS if lost == "node1" else NODE2_VMS
    for vm in moved:
        assert happens(hv, ("stonith", "", lost), ("start", vm, survivor))
    for vm in set(VMS) - set(moved):
        assert short(hv.ops("stop", vm)) == [] and short(hv.ops("start", vm)) == []
    guest = o.runs["guest"]
    assert short(guest.fenced) == [guest_lost]
    assert on(guest, "pgvip") == [vip]
    again = o.runs["hypervisor-again"]  # the guest fence kills the restarted VM on the survivor
    vm = f"{guest_lost}-vm"
    assert short(again.fenced) == [] and short(again.ops("start", vm)) == [survivor] and on(again, vm) == [survivor]
    if sid != "H3":
        assert short(o.runs["hypervisor-loser"].fenced) == [survivor]
    else:
        assert "hypervisor-loser" not in o.runs


def test_failback_follows_the_declared_choice(outcomes):
    hv = outcomes["FB-hyp"].runs["hypervisor"]
    assert sorted(v for v in NODE1_VMS if on(hv, v, after=False) == ["node2"]) == NODE1_VMS
    assert [v for v in NODE1_VMS if on(hv, v) == ["node1"]] == NODE1_VMS  # failback: allowed
    assert short(hv.fenced) == []
    guest = outcomes["FB-guest"].runs["guest"]
    assert on(guest, "pgvip") == ["pg2"] and on(guest, "drbd-pgdata", "Unpromoted") == ["pg1"]


# ---- a failed expectation is flagged ------------------------------------------------------------
def _broken_copy(rendered: Path, tmp_path: Path, layer: str, edit) -> Path:
    copy = tmp_path / "render"
    shutil.copytree(rendered, copy)
    path = copy / layer / "cib.xml"
    root = ET.fromstring(path.read_text())
    edit(root)
    path.write_text(ET.tostring(root, encoding="unicode"))
    return copy


def _drop_delay(root):
    for attrs in root.iter("instance_attributes"):
        for nv in [nv for nv in attrs.findall("nvpair") if nv.get("name", "").startswith("pcmk_delay")]:
            attrs.remove(nv)


def _stickiness(value):
    def edit(root):
        for nv in root.iter("nvpair"):
            if nv.get("name") == "resource-stickiness":
                nv.set("value", value)
    return edit


def _drop_order(constraint_id):
    def edit(root):
        constraints = root.find("configuration/constraints")
        constraints.remove(next(c for c in constraints if c.get("id") == constraint_id))
    return edit


def test_no_tiebreaker_fails_the_partition_scenarios(config, rendered, tmp_path):
    broken = _broken_copy(rendered, tmp_path, "hypervisor", _drop_delay)
    result = {o.id: o for o in run_scenarios(config, broken, ["H2a", "H2b", "H3"])}
    assert not result["H2a"].ok and not result["H2b"].ok
    assert result["H3"].ok  # a powered-off host cannot shoot back: no tiebreaker needed


def test_stickiness_contradicting_declared_failback_fails(config, rendered, tmp_path):
    broken = _broken_copy(rendered, tmp_path, "hypervisor", _stickiness("200"))
    [outcome] = run_scenarios(config, broken, ["FB-hyp"])
    assert not outcome.ok
    hv = outcome.runs["hypervisor"]
    assert [v for v in NODE1_VMS if on(hv, v) == ["node2"]] == NODE1_VMS  # the scheduler kept them away


def test_missing_chain_order_fails_the_handoff(config, rendered, tmp_path):
    broken = _broken_copy(rendered, tmp_path, "guest", _drop_order("ord-pgsql-then-pgvip"))
    [outcome] = run_scenarios(config, broken, ["A1"])
    assert not outcome.ok
    assert not happens(outcome.runs["guest"], ("start", "pgsql", "pg2"), ("start", "pgvip", "pg2"))


def test_main_exits_1_on_a_failed_expectation(rendered, tmp_path, monkeypatch, capsys):
    class Args:
        stack, scenario = "lab5", ["H2a"]

    def render(*args):
        pytest.fail("rendered again despite HASTACK_SIMULATE_RENDER")

    monkeypatch.setenv("HASTACK_SIMULATE_RENDER", str(_broken_copy(rendered, tmp_path, "hypervisor", _drop_delay)))
    assert main(Args(), render) == 1
    assert "FAIL" in capsys.readouterr().out
    monkeypatch.setenv("HASTACK_SIMULATE_RENDER", str(rendered))
    assert main(Args(), render) == 0


# ---- another stack: expectations follow its config, not the seed's node names ---------------------
def test_expectations_follow_the_stack(config, tmp_path):
    from commands.render import render
    from hastack.config.models import Failback, Tiebreaker

    hv = config.hypervisor.model_copy(update={
        "tiebreaker": Tiebreaker(survivor="node1"), "failback": Failback.PREVENTED,
        "resource_defaults": {"resource-stickiness": "101"}})
    guest = config.guest.model_copy(update={
        "fencing": config.guest.fencing.model_copy(update={"tiebreaker": Tiebreaker(survivor="pg1")})})
    variant = config.model_copy(update={"hypervisor": hv, "guest": guest})
    out = tmp_path / "variant"
    render(variant, "variant", out)
    result = {o.id: o for o in run_scenarios(variant, out)}
    assert {sid: o.ok for sid, o in result.items()} == {sid: True for sid in ORDER}
    a2a = result["A2a"].runs["guest"]
    assert short(a2a.fenced) == ["pg2"] and on(a2a, "pgvip") == ["pg1"]  # pg1 now survives
    h2a = result["H2a"].runs["hypervisor"]
    assert short(h2a.fenced) == ["node2"] and vms_on(h2a, "node1") == VMS
    fb = result["FB-hyp"].runs["hypervisor"]
    assert [v for v in NODE1_VMS if on(fb, v) == ["node2"]] == NODE1_VMS  # failback prevented: they stay


def test_cli_runs_every_scenario_within_three_minutes():
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("HASTACK_SIMULATE_RENDER", None)
    started = time.monotonic()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "hastack", "simulate", "--stack", "lab5"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert elapsed < 180
    assert "11/11 scenarios as the stack expects" in proc.stdout


def test_lost_promotion_scores_keep_the_vms_down(outcomes):
    run = outcomes["H3"].runs["whatif-outdated"]
    assert short(run.fenced) == ["node1"]
    for vm in NODE1_VMS:
        assert on(run, vm, after=False) == ["node1"] and on(run, vm) == []
    assert short(run.ops("promote", "drbd-pg1")) == []
