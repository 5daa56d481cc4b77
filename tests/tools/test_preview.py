"""`pulumi preview` of the seed's stack through the real CLI, with no host reachable."""
from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from tests.conftest import ROOT, run

pytestmark = pytest.mark.tools

DYNAMIC = "pulumi-python:dynamic/hastack:"


@pytest.fixture(scope="module")
def lab5_preview(pulumi_env):
    run(["pulumi", "stack", "init", "lab5"], env=pulumi_env)
    result = run(["pulumi", "preview", "--stack", "lab5", "--json"], env=pulumi_env)
    return json.loads(result.stdout), result


def test_preview_shows_both_layers_nested_under_components(lab5_preview, lab5_config):
    preview, _ = lab5_preview
    steps = preview["steps"]
    assert all(step["op"] == "create" for step in steps)
    by_type = Counter(step["newState"]["type"].removeprefix(DYNAMIC) for step in steps)
    vms = len(lab5_config.vms)
    assert by_type["hastack:index:ProtectedVM"] == vms
    assert by_type["hastack:index:HypervisorCluster"] == 1 and by_type["hastack:index:GuestPgCluster"] == 1
    assert by_type["LogicalVolume"] == vms and by_type["LibvirtDomain"] == vms and by_type["DrbdResource"] == vms + 1
    assert by_type["PcsResource"] == 2 * vms + 4  # clone + domain per VM; pgdata clone, fs, pgsql, vip
    assert by_type["PcsConstraint"] == 3 * vms + 6
    assert by_type["StonithDevice"] == 4 and by_type["CorosyncCluster"] == 2 and by_type["PcsResourceEnable"] == vms + 3
    assert by_type["Firewall"] == 4  # one per node of each layer
    assert by_type["HostsEntries"] == 2  # one block per layer
    assert by_type["SelinuxBooleans"] == 2 and by_type["OcfHelperLinks"] == 1  # both layers; RHEL's guests
    assert len(steps) == 132  # README.md's count
    # hastack:monitoring: a guest's and a cluster's objects each, and the feed's command
    assert by_type["hastack:index:NagiosServer"] == 1 and by_type["NagiosObjects"] == 2 + 2 + 1
    components = {s["urn"]: s["newState"]["type"] for s in steps if s["newState"]["type"].startswith("hastack:index:")}
    for step in steps:
        state = step["newState"]
        if state["type"].startswith(DYNAMIC):
            assert components.get(state.get("parent")), f"{step['urn']} is not under a component"


def test_preview_never_shows_a_secret(lab5_preview):
    preview, result = lab5_preview
    text = result.stdout + result.stderr
    assert "CHANGE-ME" not in text  # the placeholder secrets of Pulumi.lab5.yaml
    fence = next(s for s in preview["steps"] if s["urn"].endswith("lab5-fence-node1"))
    assert fence["newState"]["inputs"]["secret_values"] == {"password": "[secret]"}
    for name in ("lab5-alert-nsca-config", "pgcluster-alert-nsca-config", "monitoring-nsca-authorize"):
        step = next(s for s in preview["steps"] if s["urn"].endswith(f"::{name}"))
        assert step["newState"]["inputs"]["content"] == "[secret]", name


def test_a_bad_config_fails_before_any_resource(pulumi_env):
    name = f"bad{uuid.uuid4().hex[:6]}"
    good = (ROOT / "Pulumi.lab5.yaml").read_text()
    path = ROOT / f"Pulumi.{name}.yaml"
    path.write_text(good.replace("drbd_minor: 5", "drbd_minor: 4"))
    try:
        run(["pulumi", "stack", "init", name], env=pulumi_env)
        result = run(["pulumi", "preview", "--stack", name], env=pulumi_env, check=False)
    finally:
        path.unlink()
    assert result.returncode != 0
    assert "vms[].drbd_minor: 4 is used twice" in result.stdout + result.stderr
    assert "hastack:" not in result.stdout.split("Diagnostics")[0]  # no resource was even planned


@pytest.mark.parametrize("layer", ["hypervisor", "guest"])
def test_the_checked_in_graph_is_the_current_programs(lab5_preview, layer, tmp_path):
    """docs/graph is drawn by `python -m hastack graph --stack lab5`, never by hand: a change to
    what the program builds must redraw it (the README shows the hypervisor layer)."""
    import shutil

    from commands.graph import layer_dot

    preview, _ = lab5_preview
    checked_in = ROOT / "docs" / "graph" / f"lab5-{layer}"
    redraw = "redraw with: PULUMI_CONFIG_PASSPHRASE=hastack-lab5-example python -m hastack graph --stack lab5"
    assert layer_dot("lab5", layer, preview["steps"]) == checked_in.with_suffix(".dot").read_text(), redraw
    if shutil.which("dot") is None:
        pytest.skip("no Graphviz `dot` on PATH (setup/apt-packages.txt installs it): the SVG is not compared")
    svg = tmp_path / "graph.svg"
    run(["dot", "-Tsvg", "-o", str(svg), str(checked_in.with_suffix(".dot"))])
    assert svg.read_text() == checked_in.with_suffix(".svg").read_text(), redraw
