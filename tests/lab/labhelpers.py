"""Helpers for the live lab tests: the lab CLI, SSH with the pinned keys, waiting, measured times."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from hastack.lab import lab as lab_mod
from hastack.lab.paths import REPO_ROOT, lab_dir
from hastack.lab.topology import host

TIMES_FILE = REPO_ROOT / "out" / "lab-times.json"


def lab_cli(*args: str, timeout: float = 1500, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "hastack", "lab", *args], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"lab {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def ssh(name: str, command: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    argv = lab_mod.ssh_argv(lab_dir(), host(name), [command])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{name}: {command!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def wait_for(predicate, timeout: float, interval: float = 2.0, what: str = "condition") -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Times:
    """Measured times, kept in out/lab-times.json (the README quotes them)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def __setitem__(self, key: str, seconds: float) -> None:
        self.values[key] = round(seconds, 1)
        TIMES_FILE.parent.mkdir(exist_ok=True)
        TIMES_FILE.write_text(json.dumps(self.values, indent=1) + "\n")
