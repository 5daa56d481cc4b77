"""Live lab fixtures.  test_providers_live and test_lab need bare hosts: they share one lab
(brought up through the real CLI), which test_lab's last test takes down.  The stack modules
share a fresh lab and one `up` for the whole session: test_stack_live checks what `up` built,
test_drills_live fails it, test_monitoring_live reads what Nagios saw of it (with monitoring on),
test_stack_changes_live changes and finally destroys it."""
from __future__ import annotations

import json
import os
import sys
import time

import pytest
from labhelpers import Times, lab_cli, over_budget, progress, save_host_logs, time_left
from stackhelpers import CLUSTERS, pulumi, scheduler_inputs, stack_environment

from hastack.lab.paths import REPO_ROOT, lab_dir

# Bare-host modules first, then the stack's in the order its life runs (offline code first of all).
LAB_MODULE_ORDER = ("test_lab_offline", "test_labhelpers", "test_providers_live", "test_lab",
                    "test_stack_live", "test_drills_live", "test_monitoring_live", "test_stack_changes_live")
# The bare-host modules, in order, on one lab: each provider test removes what it made.
BARE_LAB_MODULES = ("test_providers_live", "test_lab")
# A developer's loop: the stack modules on the lab that is up and the state a previous run left
# there (with HASTACK_KEEP_LAB=1), instead of a fresh lab and a first `up`.
REUSE_LAB = os.environ.get("HASTACK_REUSE_LAB") == "1"


def pytest_configure(config):
    import labhelpers

    def echo(line: str) -> None:
        reporter = config.pluginmanager.getplugin("terminalreporter")  # registered after this hook
        capture = config.pluginmanager.getplugin("capturemanager")
        if reporter is None or capture is None:
            print(line, file=sys.__stderr__, flush=True)
            return
        with capture.global_and_fixture_disabled():  # inside a test pytest captures the terminal too
            reporter.write(f"\n{line}\n", flush=True)  # its own line; out now, not when a buffer fills

    labhelpers.echo = echo


def pytest_runtest_setup(item):
    expected = item.get_closest_marker("expected_seconds")
    if expected and (reason := over_budget(expected.args[0], time_left())):
        pytest.skip(reason)


def pytest_runtest_logreport(report):
    # Each live step with its time, as it ends: the CI log shows where its 90 minutes went.
    if report.failed or report.duration > (2 if report.when == "call" else 30):
        progress(f"{report.nodeid} {report.when} {report.outcome} in {report.duration:.0f} s")


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1]
        return LAB_MODULE_ORDER.index(name) if name in LAB_MODULE_ORDER else -1

    items.sort(key=rank)  # stable: the order within each module stays as written


@pytest.fixture(scope="module")
def times() -> Times:
    return Times()


def _module(item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1]


def _lab_running() -> bool:
    from hastack.lab import lab

    return lab.is_running(lab_dir(), lab.load_state(lab_dir()))


def _lab_up(times: Times) -> None:
    if _lab_running():
        lab_cli("up")  # reused, and timed as such by test_lab
        return
    t0 = time.monotonic()
    out = lab_cli("up")
    times["lab_up_seconds"] = time.monotonic() - t0
    state = json.loads((lab_dir() / "state.json").read_text())
    for name, seconds in state.get("boot_seconds", {}).items():
        times[f"boot_to_ssh_{name}"] = seconds
    print(out.stdout)


def _lab_down(logs: str, keep: bool = False) -> None:
    # What the hosts said, kept before `lab down` takes them away (a failure is read from these).
    save_host_logs(REPO_ROOT / "out" / "lab-logs" / logs)
    if keep:
        return
    if os.environ.get("HASTACK_KEEP_LAB") == "1":
        print("HASTACK_KEEP_LAB=1: the lab stays up (python -m hastack lab down removes it)")
        return
    lab_cli("down", check=False)


@pytest.fixture(scope="module")
def live_lab(request, times: Times):
    module = _module(request)
    later = BARE_LAB_MODULES[BARE_LAB_MODULES.index(module) + 1:] if module in BARE_LAB_MODULES else ()
    keep = any(_module(item) in later for item in request.session.items)
    _lab_up(times)
    yield lab_dir()
    _lab_down(module, keep=keep)


@pytest.fixture(scope="session")
def stack_lab() -> bool:
    """The stack modules' lab; True when it is one that was already up and its state is kept."""
    reused = REUSE_LAB and _lab_running()
    if reused:
        print("HASTACK_REUSE_LAB=1: the stack modules run on the lab that is up, and on its stack's state")
    elif _lab_running():  # a bare-host module that stopped before its `lab down`: the stack starts fresh
        print("a lab is still up from the bare-host tests: taking it down for a fresh one")
        lab_cli("down")
    _lab_up(Times())
    yield reused
    _lab_down("stack")


@pytest.fixture(scope="session")
def stack_env(stack_lab: bool) -> dict:
    return stack_environment(keep_state=stack_lab)


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
