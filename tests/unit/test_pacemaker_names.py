"""The Pacemaker names the config accepts are the ones the installed Pacemaker knows.

Cluster options: the daemons print them (`<daemon> metadata`); the list must match exactly, so a
Pacemaker upgrade that adds or drops one fails here.  Resource meta-attributes: no 2.1 binary
prints them, so each must at least be a string the installed Pacemaker libraries hold (a misspelt
entry in the list would not be).
"""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hastack.config.pacemaker_names import CLUSTER_OPTIONS, READ_ONLY_OPTIONS, RESOURCE_META

pytestmark = pytest.mark.tools

# Daemons whose metadata is cluster options (pacemaker-fenced's, in 2.1, is fence device parameters).
DAEMONS = ("pacemaker-schedulerd", "pacemaker-controld", "pacemaker-based")
PACEMAKERD = shutil.which("pacemakerd")


def _daemon(name: str) -> Path | None:
    """The daemons live beside pacemakerd's prefix: lib/pacemaker (Debian) or libexec/pacemaker (Fedora)."""
    if not PACEMAKERD:
        return None
    prefix = Path(PACEMAKERD).resolve().parents[1]
    return next((p for p in (prefix / "lib" / "pacemaker" / name, prefix / "libexec" / "pacemaker" / name)
                 if p.exists()), None)


def _options(daemon: Path) -> set[str]:
    out = subprocess.run([str(daemon), "metadata"], capture_output=True, text=True, timeout=30, check=True).stdout
    return {p.get("name") for p in ET.fromstring(out).iter("parameter")}


@pytest.mark.skipif(not all(_daemon(d) for d in DAEMONS), reason="Pacemaker's daemons are not installed")
def test_cluster_options_are_what_pacemaker_reports():
    reported = set().union(*(_options(_daemon(d)) for d in DAEMONS))
    assert sorted(reported - CLUSTER_OPTIONS) == [], "Pacemaker knows options the list lacks"
    assert sorted(CLUSTER_OPTIONS - reported) == [], "the list has options Pacemaker does not report"
    assert READ_ONLY_OPTIONS <= CLUSTER_OPTIONS


@pytest.mark.skipif(not PACEMAKERD, reason="Pacemaker is not installed")
def test_the_installed_pacemaker_is_2_1():
    version = subprocess.run([PACEMAKERD, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert version.startswith("Pacemaker 2.1."), version


def _libraries() -> list[str]:
    """The Pacemaker libraries the scheduler links, as the dynamic linker finds them."""
    daemon = _daemon("pacemaker-schedulerd")
    if not daemon or not shutil.which("ldd"):
        return []
    out = subprocess.run(["ldd", str(daemon)], capture_output=True, text=True, timeout=30).stdout
    return [line.split("=>")[1].split("(")[0].strip() for line in out.splitlines()
            if "=>" in line and any(lib in line for lib in ("libpe_status", "libcrmcommon", "libpacemaker"))]


LIBRARIES = _libraries()


@pytest.mark.skipif(not LIBRARIES, reason="Pacemaker's libraries are not installed")
def test_every_meta_attribute_is_a_name_pacemaker_holds():
    strings = b"".join(Path(p).read_bytes() for p in LIBRARIES)
    missing = sorted(n for n in RESOURCE_META if n.encode() + b"\0" not in strings)
    assert missing == [], f"not in {LIBRARIES}"


def test_a_misspelling_is_no_known_name():
    assert "resource-stickness" not in RESOURCE_META and "stonith-enable" not in CLUSTER_OPTIONS
