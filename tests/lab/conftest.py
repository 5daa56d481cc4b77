"""Live lab fixtures.  test_lab and test_providers_live need bare hosts: each brings the lab up
for itself (through the real CLI) and down after.  The stack modules share one lab and one `up`
for the whole session: test_stack_live checks what `up` built, test_drills_live fails it,
test_stack_changes_live changes and finally destroys it."""
from __future__ import annotations

import json
import os
import time

import pytest
from labhelpers import Times, lab_cli, save_host_logs
from stackhelpers import CLUSTERS, pulumi, scheduler_inputs, stack_environment

from hastack.lab.paths import REPO_ROOT, lab_dir

# Bare-host modules first, then the stack's in the order its life runs (offline code first of all).
LAB_MODULE_ORDER = ("test_lab_offline", "test_labhelpers", "test_lab", "test_providers_live",
                    "test_stack_live", "test_drills_live", "test_stack_changes_live")


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1]
        return LAB_MODULE_ORDER.index(name) if name in LAB_MODULE_ORDER else -1

    items.sort(key=rank)  # stable: the order within each module stays as written


@pytest.fixture(scope="module")
def times() -> Times:
    return Times()


def _lab_up(times: Times) -> None:
    t0 = time.monotonic()
    out = lab_cli("up")
    times["lab_up_seconds"] = time.monotonic() - t0
    state = json.loads((lab_dir() / "state.json").read_text())
    for name, seconds in state.get("boot_seconds", {}).items():
        times[f"boot_to_ssh_{name}"] = seconds
    print(out.stdout)


def _lab_down(logs: str) -> None:
    # What the hosts said, kept before `lab down` takes them away (a failure is read from these).
    save_host_logs(REPO_ROOT / "out" / "lab-logs" / logs)
    if os.environ.get("HASTACK_KEEP_LAB") == "1":
        print("HASTACK_KEEP_LAB=1: the lab stays up (python -m hastack lab down removes it)")
        return
    lab_cli("down", check=False)


@pytest.fixture(scope="module")
def live_lab(request, times: Times):
    _lab_up(times)
    yield lab_dir()
    _lab_down(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="session")
def stack_lab():
    _lab_up(Times())
    yield lab_dir()
    _lab_down("stack")


@pytest.fixture(scope="session")
def stack_env(stack_lab) -> dict:
    return stack_environment()


@pytest.fixture(scope="session")
def applied(stack_env):
    """The whole lab stack's first `up` (as bin/main runs it), with the scheduler inputs it made."""
    start = time.monotonic()
    result = pulumi(stack_env, "up", "--yes", "--skip-preview", timeout=3600)
    Times()["pulumi_up_full_seconds"] = time.monotonic() - start
    print(result.stdout[-3000:])
    result.scheduler_inputs = {cluster: [i for node in nodes for i in scheduler_inputs(node)]
                               for cluster, nodes in CLUSTERS.items()}
    return result
