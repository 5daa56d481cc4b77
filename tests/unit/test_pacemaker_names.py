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

from hastack.config.pacemaker_names import (
    BOOLEAN,
    CLUSTER_OPTIONS,
    INTEGER,
    META_VALUES,
    OPTION_VALUES,
    PERCENTAGE,
    READ_ONLY_OPTIONS,
    RESOURCE_META,
    TEXT,
    TIME,
    bad_value,
)

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


def _parameters(daemon: Path) -> list[ET.Element]:
    out = subprocess.run([str(daemon), "metadata"], capture_output=True, text=True, timeout=30, check=True).stdout
    return list(ET.fromstring(out).iter("parameter"))


def _options(daemon: Path) -> set[str]:
    return {p.get("name") for p in _parameters(daemon)}


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


def test_every_known_name_says_what_value_it_takes():
    assert set(OPTION_VALUES) == CLUSTER_OPTIONS and set(META_VALUES) == RESOURCE_META


KINDS = {"boolean": BOOLEAN, "time": TIME, "integer": INTEGER, "percentage": PERCENTAGE, "string": TEXT}
# Typed `string` in the metadata, with its choices in the long description only.
CHOICES_IN_PROSE = {"fence-reaction": ("stop", "panic")}


@pytest.mark.skipif(not all(_daemon(d) for d in DAEMONS), reason="Pacemaker's daemons are not installed")
def test_each_option_takes_the_kind_of_value_pacemaker_reports_and_its_default_passes():
    for parameter in (p for d in DAEMONS for p in _parameters(_daemon(d))):
        name, content = parameter.get("name"), parameter.find("content")
        kind = content.get("type")
        if kind == "select":
            assert OPTION_VALUES[name] == tuple(o.get("value") for o in content.iter("option")), name
        elif name in CHOICES_IN_PROSE:
            assert OPTION_VALUES[name] == CHOICES_IN_PROSE[name]
            assert all(f'"{choice}"' in parameter.findtext("longdesc") for choice in CHOICES_IN_PROSE[name])
        else:
            assert OPTION_VALUES[name] == KINDS[kind], name
        default = content.get("default")
        if default and OPTION_VALUES[name] != TEXT:
            assert bad_value(name, default, OPTION_VALUES) is None, (name, default)
