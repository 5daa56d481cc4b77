"""The lab tests' own SSH probe, against a real ssh client and a port that accepts but never
answers: what a powered-off guest looks like through the lab's port forward."""
from __future__ import annotations

import dataclasses
import socket
import subprocess
import threading
import time

import labhelpers
import pytest

from hastack.lab.topology import host


@pytest.fixture
def silent_port():
    """A listener that accepts connections and never sends an SSH banner."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_a_host_that_never_answers_is_a_failed_probe_inside_its_timeout(silent_port, tmp_path, monkeypatch):
    monkeypatch.setattr(labhelpers, "lab_dir", lambda: tmp_path)
    monkeypatch.setattr(labhelpers, "host", lambda name: dataclasses.replace(host(name), ssh_port=silent_port))
    start = time.monotonic()
    probe = labhelpers.ssh("pg1", "true", timeout=12, check=False)
    assert probe.returncode != 0
    # ssh's own banner wait (half the timeout) ends it, before the subprocess timeout would.
    assert time.monotonic() - start < 11
    with pytest.raises(AssertionError, match="pg1"):
        labhelpers.ssh("pg1", "true", timeout=12)


def test_a_streamed_command_shows_its_lines_as_they_come_and_keeps_them_all(monkeypatch):
    shown: list[tuple[float, str]] = []
    monkeypatch.setattr(labhelpers, "echo", lambda line: shown.append((time.monotonic(), line)))
    start = time.monotonic()
    result = labhelpers.run_streamed(["sh", "-c", "echo one; echo hidden; echo oops >&2; sleep 2; echo two; exit 3"],
                                     timeout=30, show=lambda line: "hidden" not in line, label="x: ")
    assert (result.returncode, result.stdout, result.stderr) == (3, "one\nhidden\ntwo\n", "oops\n")
    assert [line.split("] ", 1)[1] for _t, line in shown] == ["x: one", "x: two"]
    assert shown[0][0] - start < 1.5  # while the command still ran, not at its end


def test_a_streamed_command_past_its_timeout_is_killed_and_raises():
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        labhelpers.run_streamed(["sh", "-c", "echo before; exec sleep 30"], timeout=1)
    assert time.monotonic() - start < 5 and expired.value.output == "before\n"


def test_a_streamed_command_past_its_timeout_ends_with_its_children():
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        labhelpers.run_streamed(["sh", "-c", "sleep 30 & sleep 30; wait"], timeout=1)
    assert time.monotonic() - start < 5


def test_a_test_that_would_end_past_the_time_budget_is_not_started():
    assert labhelpers.over_budget(560, None) is None  # no budget: everything runs
    assert labhelpers.over_budget(560, 561) is None
    reason = labhelpers.over_budget(560, 300)
    assert reason and "560 s" in reason and "300 s are left" in reason


def test_the_deadline_counts_from_the_ci_jobs_start_and_caps_a_commands_timeout(monkeypatch):
    monkeypatch.setenv("HASTACK_DEADLINE", str(time.time() + 1000))
    monkeypatch.setenv("HASTACK_TIME_BUDGET", "99999")  # the absolute deadline wins
    monkeypatch.setattr(labhelpers, "DEADLINE", labhelpers._deadline())
    assert 990 < labhelpers.time_left() <= 1000
    assert 930 < labhelpers.capped(3600) <= 940  # ends a minute before the deadline
    assert labhelpers.capped(100) == 100
    monkeypatch.setattr(labhelpers, "DEADLINE", time.time() - 5)
    assert labhelpers.capped(3600) == 30  # past it: a short last try, never a negative timeout
    monkeypatch.delenv("HASTACK_DEADLINE")
    monkeypatch.delenv("HASTACK_TIME_BUDGET")
    monkeypatch.setattr(labhelpers, "DEADLINE", labhelpers._deadline())
    assert labhelpers.time_left() is None and labhelpers.capped(3600) == 3600
