"""Live lab fixtures.  One lab for the whole session, brought up through the real CLI: the
bare-host modules (test_providers_live, test_lab) run on it first, each test removing what it
made; the stack modules then run on the same hosts, once test_lab has shown the bare tests left
nothing there, with a fresh stack state and one `up` for the session: test_stack_live checks what
`up` built, test_drills_live fails it, test_monitoring_live reads what Nagios saw of it (with
monitoring on), test_stack_changes_live changes and finally destroys it; test_lab_down takes the
lab down last of all and checks nothing is left of it."""
from __future__ import annotations

import json
import os
import sys
import time

import pytest
from labhelpers import Times, bare_host_leftovers, lab_cli, over_budget, progress, save_host_logs, time_left
from stackhelpers import CLUSTERS, main_job, scheduler_inputs, stack_environment

from hastack.lab.paths import REPO_ROOT, lab_dir

# Bare-host modules first, then the stack's in the order its life runs (offline code first of all).
LAB_MODULE_ORDER = ("test_lab_offline", "test_labhelpers", "test_providers_live", "test_lab",
                    "test_stack_live", "test_drills_live", "test_monitoring_live", "test_stack_changes_live",
                    "test_lab_down")
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


def _keep_lab() -> bool:
    if os.environ.get("HASTACK_KEEP_LAB") == "1":
        print("HASTACK_KEEP_LAB=1: the lab stays up (python -m hastack lab down removes it)")
        return True
    return False


@pytest.fixture(scope="session")
def session_lab():
    """The session's one lab: up when a live module first needs it, down when the session ends
    (unless test_lab_down took it down already, or HASTACK_KEEP_LAB=1)."""
    _lab_up(Times())
    yield lab_dir()
    if _lab_running() and not _keep_lab():
        lab_cli("down", check=False)


@pytest.fixture(scope="module")
def live_lab(request, session_lab):
    yield session_lab
    # What the hosts said, kept per module (a failure is read from these).
    save_host_logs(REPO_ROOT / "out" / "lab-logs" / _module(request))


# What the stack modules need before their first test can start: the first `up` and, when the lab
# is not up yet, its boot (CI 2026-12-03: lab 396-423 s; here, three VMs: first `up` with its
# scheduler inputs 1576 s, lab 209 s; CI's hosts booted the lab 1.1-1.9x slower than here).
STACK_EXPECTED_SECONDS = {"lab": 420, "up": 2100}


def _skip_past_deadline(what: str, seconds: float) -> None:
    if reason := over_budget(seconds, time_left()):
        pytest.skip(f"{what}: {reason}")


@pytest.fixture(scope="session")
def stack_lab(request) -> bool:
    """The stack modules' lab; True when it is one that was already up and its stack state is kept."""
    running = _lab_running()
    reused = REUSE_LAB and running
    leftovers = bare_host_leftovers() if running and not reused else []  # test_lab fails on them too
    needed = STACK_EXPECTED_SECONDS["up"] + (STACK_EXPECTED_SECONDS["lab"] if leftovers or not running else 0)
    _skip_past_deadline("the stack's first `up`", needed)
    request.getfixturevalue("session_lab")
    if reused:
        print("HASTACK_REUSE_LAB=1: the stack modules run on the lab that is up, and on its stack's state")
    elif leftovers:
        print(f"the lab that is up holds {leftovers}: taking it down for a fresh one")
        lab_cli("down")
        _lab_up(Times())
    yield reused
    save_host_logs(REPO_ROOT / "out" / "lab-logs" / "stack")


@pytest.fixture(scope="session")
def stack_env(stack_lab: bool) -> dict:
    return stack_environment(keep_state=stack_lab)


@pytest.fixture(scope="session")
def applied(stack_env):
    """The whole lab stack's first `up`, by the README's bin/main, with the scheduler inputs it made."""
    start = time.monotonic()
    result = main_job(stack_env, timeout=3600)
    Times()["pulumi_up_full_seconds"] = time.monotonic() - start
    print(result.stdout[-3000:])
    result.scheduler_inputs = {cluster: [i for node in nodes for i in scheduler_inputs(node)]
                               for cluster, nodes in CLUSTERS.items()}
    return result
