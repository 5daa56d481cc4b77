"""Binaries of Debian packages that bin/setup unpacks without installing (setup/apt-unpacked.txt)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hastack.lab.paths import unpacked_root


def unpacked(relative: str) -> Path:
    """A file of the unpacked packages, or the test is skipped (run bin/setup to unpack them)."""
    path = unpacked_root() / relative
    if not path.exists():
        pytest.skip(f"{relative} not unpacked: bin/setup unpacks setup/apt-unpacked.txt")
    return path


def unpacked_env() -> dict:
    """The environment to run an unpacked binary in: its libraries are unpacked too."""
    libs = [str(p) for p in (unpacked_root() / "usr/lib/x86_64-linux-gnu", unpacked_root() / "usr/lib") if p.is_dir()]
    return dict(os.environ, LD_LIBRARY_PATH=":".join(libs + [os.environ.get("LD_LIBRARY_PATH", "")]).strip(":"))
