"""The core stays below the Pulumi program: hastack/ never imports pulumi, components/,
providers/ or commands/ (only `python -m hastack` itself hands over to commands/)."""
from __future__ import annotations

import ast

from tests.conftest import ROOT

ABOVE = ("pulumi", "pulumi_policy", "components", "providers", "commands")


def imported(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_core_imports_nothing_above_it():
    entry = ROOT / "hastack" / "__main__.py"
    offending = {str(p.relative_to(ROOT)): sorted(imported(p) & set(ABOVE))
                 for p in (ROOT / "hastack").rglob("*.py") if p != entry and imported(p) & set(ABOVE)}
    assert offending == {}
    assert imported(entry) & set(ABOVE) == {"commands"}


def test_providers_hold_no_script_or_parser():
    """A resource's provider module is its adapter: a few lines, no shell, no parsing."""
    from hastack.resources import registry

    for type_name in registry.TYPES:
        text = (ROOT / "providers" / f"{registry.module_name(type_name)}.py").read_text()
        assert len(text.splitlines()) <= 30 and "sh -c" not in text and '"sh"' not in text, type_name
