"""The seed's failures against the stack hastack builds on the lab, through the real CLI
(`python -m hastack drill`), asserting on what the hosts did: the database back on the survivor,
no acknowledged row lost, the survivor's own VMs never stopped, both layers back at full
redundancy with nothing failed and no constraint left behind."""
from __future__ import annotations

import json
import os
import sys

import pytest

from tests.conftest import ROOT, run

sys.path.insert(0, os.path.dirname(__file__))
from test_stack_live import env, pulumi  # noqa: E402,F401  (the live stack's backend and its pulumi)

# The three (a host lost, a guest lost, a guest cut off) run in every `bin/test`: a fresh
# lab, `up` (9-22 min here) and the three drills take 35-50 min.  The seed's other six add 30-60
# min more on emulated hosts, beyond what CI's 90 min hold beside the suite: on request only.
EVERY_RUN = ("H3", "A3", "A2a")
ON_REQUEST = ("A1", "A2b", "A4", "H1", "H2a", "H2b")
pytestmark = [pytest.mark.lab, pytest.mark.timeout(3600)]
OUT = ROOT / "out" / "drill-live"


@pytest.fixture(scope="module")
def stack(env):  # noqa: F811
    pulumi(env, "up", "--yes", "--skip-preview", timeout=3600)
    return env


@pytest.mark.parametrize("scenario", [*EVERY_RUN, *(pytest.param(s, marks=pytest.mark.skipif(
    os.environ.get("HASTACK_LIVE_DRILLS") != "all",
    reason="the seed's other drills: set HASTACK_LIVE_DRILLS=all (each 5-15 min here, beyond CI's 90 min "
           "beside the suite)")) for s in ON_REQUEST)])
def test_drill(stack, scenario):
    out = OUT / scenario
    result = run([str(ROOT / ".venv" / "bin" / "python"), "-m", "hastack", "drill", "--stack", "lab", "--scenario",
                  scenario, "--yes", "--out", str(out)], env=stack, check=False, timeout=3000)
    report = (out / "report.md").read_text() if (out / "report.md").exists() else result.stdout[-4000:]
    [drill] = json.loads((out / "drill.json").read_text())
    assert drill["lost"] == [] and drill["acknowledged"] > 0, report
    assert drill["recovered_s"] is not None, report
    assert all(c["ok"] for c in drill["checks"]), report
    survivor = drill["roles"]["hv1"]
    from hastack.config.load import load_stack

    survivor_vms = [f"{vm.name}-vm" for vm in load_stack("lab").vms if vm.preferred_node == survivor]
    stopped = [e["detail"] for e in drill["events"] if e["kind"] == "action" and e["detail"].startswith("stop ")
               and any(e["detail"].startswith(f"stop {vm} on {survivor}") for vm in survivor_vms)]
    assert stopped == [], report
    assert result.returncode == 0, report
