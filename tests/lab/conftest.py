"""Live lab fixtures: the lab comes up once per module (through the real CLI) and goes down after."""
from __future__ import annotations

import json
import os
import time

import pytest
from labhelpers import Times, lab_cli, save_host_logs

from hastack.lab.paths import REPO_ROOT, lab_dir


@pytest.fixture(scope="module")
def times() -> Times:
    return Times()


@pytest.fixture(scope="module")
def live_lab(request, times: Times):
    t0 = time.monotonic()
    out = lab_cli("up")
    times["lab_up_seconds"] = time.monotonic() - t0
    state = json.loads((lab_dir() / "state.json").read_text())
    for name, seconds in state.get("boot_seconds", {}).items():
        times[f"boot_to_ssh_{name}"] = seconds
    print(out.stdout)
    yield lab_dir()
    # What the hosts said, kept before `lab down` takes them away (a failure is read from these).
    save_host_logs(REPO_ROOT / "out" / "lab-logs" / request.module.__name__.rsplit(".", 1)[-1])
    if os.environ.get("HASTACK_KEEP_LAB") == "1":
        print("HASTACK_KEEP_LAB=1: the lab stays up (python -m hastack lab down removes it)")
        return
    lab_cli("down", check=False)
