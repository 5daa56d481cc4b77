"""Where the lab keeps things: the repo's .lab/ for a running lab, the user cache for images."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent
RECIPE_DIR = REPO_ROOT / "lab" / "image"


def lab_dir() -> Path:
    """State of the running lab; HASTACK_LAB_DIR overrides (tests use the default).  Resolved: the
    lab's processes are known by this path in their command lines, and a symlink to it must not
    make a running lab look partial (and be taken down)."""
    return Path(os.environ.get("HASTACK_LAB_DIR", REPO_ROOT / ".lab")).resolve()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hastack"


def unpacked_root() -> Path:
    """Where bin/setup unpacks the Debian packages of setup/apt-unpacked.txt (never installed):
    the tools tests' binaries, and the lab's Nagios server; HASTACK_UNPACKED overrides."""
    return Path(os.environ.get("HASTACK_UNPACKED") or cache_dir() / "unpacked")
