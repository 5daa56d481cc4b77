"""The seed's failures against the stack hastack builds on the lab, through the real CLI
(`python -m hastack drill`), asserting on what the hosts did: the database back on the survivor,
no acknowledged row lost, the survivor's own VMs never stopped, both layers back at full
redundancy with nothing failed and no constraint left behind."""
from __future__ import annotations

import json
import shutil
import time

import pytest
from labhelpers import capped, full_only, run_streamed

from tests.conftest import ROOT

# The three (a host lost, a guest lost, a guest cut off) run in every `bin/test`, on the
# session's stack (conftest's `applied`).  The seed's other six need 30-60 min more on emulated
# hosts, beyond what CI's 90 min hold beside the rest: with HASTACK_LIVE_FULL=1.
EVERY_RUN = ("H3", "A3", "A2a")
# Measured here (H3 2026-12-02 with the BMC self-test model, the others 2026-12-01): what a drill
# needs of CI's time budget to be started at all.
EXPECTED_SECONDS = {"H3": 1400, "A3": 500, "A2a": 560}
ON_REQUEST = ("A1", "A2b", "A4", "H1", "H2a", "H2b")
pytestmark = [pytest.mark.lab, pytest.mark.timeout(3600)]
OUT = ROOT / "out" / "drill-live"


@pytest.mark.parametrize("scenario", [*(pytest.param(s, marks=pytest.mark.expected_seconds(EXPECTED_SECONDS[s]))
                                        for s in EVERY_RUN),
                                      *(pytest.param(s, marks=full_only("each 5-15 min")) for s in ON_REQUEST)])
def test_drill(applied, stack_env, times, scenario):
    out = OUT / scenario
    shutil.rmtree(out, ignore_errors=True)  # never a previous run's result
    start = time.monotonic()
    result = run_streamed([str(ROOT / ".venv" / "bin" / "python"), "-m", "hastack", "drill", "--stack", "lab",
                           "--scenario", scenario, "--yes", "--out", str(out)], env=stack_env,
                          timeout=capped(3000, margin=120),
                          show=lambda line: line.startswith("drill"), label=f"{scenario}: ")
    times[f"drill_{scenario}_seconds"] = time.monotonic() - start
    out.mkdir(parents=True, exist_ok=True)
    (out / "drill.log").write_text(f"exit {result.returncode}\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    assert (out / "drill.json").exists(), \
        f"the drill wrote no result (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    report = (out / "report.md").read_text()
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
