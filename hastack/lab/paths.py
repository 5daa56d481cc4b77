"""Where the lab keeps things: the repo's .lab/ for a running lab, the user cache for images."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent
RECIPE_DIR = REPO_ROOT / "lab" / "image"


def lab_dir() -> Path:
    """State of the running lab; HASTACK_LAB_DIR overrides (tests use the default)."""
    return Path(os.environ.get("HASTACK_LAB_DIR", REPO_ROOT / ".lab"))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hastack"
