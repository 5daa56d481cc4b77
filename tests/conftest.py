"""Shared fixtures: the repository root, a rendered lab5 stack, the Pulumi environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAB5_PASSPHRASE = "hastack-lab5-example"  # documented example passphrase of the lab5 stack file


class FakeClock:
    """A clock and its sleep for polling loops (clock=, sleep=): sleeping only moves it on."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def lab5_config():
    from hastack.config.load import load_stack

    return load_stack("lab5")


@pytest.fixture(scope="session")
def lab5_render(tmp_path_factory, lab5_config) -> Path:
    """The lab5 stack rendered once per session through the real program under mocks."""
    from commands.render import render

    out = tmp_path_factory.mktemp("render") / "lab5"
    render(lab5_config, "lab5", out)
    return out


@pytest.fixture(scope="session")
def pulumi_env(tmp_path_factory) -> dict:
    """A throwaway file backend and the toolchain on PATH; no cloud, no network."""
    backend = tmp_path_factory.mktemp("backend")
    env = dict(os.environ)
    env.update(
        PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_HOME=str(tmp_path_factory.mktemp("pulumi-home")),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE=LAB5_PASSPHRASE,
    )
    return env


def run(argv, env=None, cwd=ROOT, check=True, timeout=600) -> subprocess.CompletedProcess:
    process = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and process.returncode != 0:
        raise AssertionError(f"{argv} exited {process.returncode}\nstdout:\n{process.stdout[-4000:]}\nstderr:\n{process.stderr[-4000:]}")
    return process


def fake_bin(directory: Path, name: str, script: str) -> Path:
    """An executable NAME in DIRECTORY/bin (made if missing), to go first on a test's PATH in place
    of a tool that needs what a test cannot give it (a server, a hypervisor, root)."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(script)
    (bin_dir / name).chmod(0o755)
    return bin_dir
