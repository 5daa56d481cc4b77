"""Live lab fixtures: the lab comes up once per module (through the real CLI) and goes down after."""
from __future__ import annotations

import json
import time

import pytest
from labhelpers import Times, lab_cli

from hastack.lab.paths import lab_dir


@pytest.fixture(scope="module")
def times() -> Times:
    return Times()


@pytest.fixture(scope="module")
def live_lab(times: Times):
    t0 = time.monotonic()
    out = lab_cli("up")
    times["lab_up_seconds"] = time.monotonic() - t0
    state = json.loads((lab_dir() / "state.json").read_text())
    for name, seconds in state.get("boot_seconds", {}).items():
        times[f"boot_to_ssh_{name}"] = seconds
    print(out.stdout)
    yield lab_dir()
    lab_cli("down", check=False)
