"""`python -m hastack graph`: the DOT drawn from `pulumi preview --json` steps."""
from __future__ import annotations

from commands.graph import stack_dot

STACK = "urn:pulumi:s::hastack::pulumi:pulumi:Stack::hastack-s"
D = "pulumi-python:dynamic/hastack:"


def component(kind: str, name: str) -> dict:
    return {"newState": {"urn": f"urn:pulumi:s::hastack::hastack:index:{kind}::{name}", "type": f"hastack:index:{kind}",
                         "parent": STACK}}


def resource(kind: str, rtype: str, name: str, parent: str, deps=(), layer="hypervisor") -> dict:
    return {"newState": {"urn": f"urn:pulumi:s::hastack::hastack:index:{kind}${D}{rtype}::{name}", "type": D + rtype,
                         "parent": f"urn:pulumi:s::hastack::hastack:index:{kind}::{parent}",
                         "dependencies": [f"urn:pulumi:s::hastack::hastack:index:{k}${D}{t}::{n}" for k, t, n in deps],
                         "inputs": {"layer": layer}}}


STEPS = [
    component("HypervisorCluster", "hv"), component("ProtectedVM", "pg1"), component("GuestPgCluster", "pgc"),
    resource("HypervisorCluster", "CorosyncCluster", "hv-corosync", "hv"),
    resource("ProtectedVM", "LogicalVolume", "pg1-lv", "pg1", [("HypervisorCluster", "CorosyncCluster", "hv-corosync")]),
    resource("ProtectedVM", "DrbdResource", "pg1-drbd", "pg1", [("ProtectedVM", "LogicalVolume", "pg1-lv"),
                                                               ("HypervisorCluster", "CorosyncCluster", "hv-corosync")]),
    resource("GuestPgCluster", "SystemAccount", "pgc-fence-account", "pgc"),
    resource("GuestPgCluster", "CorosyncCluster", "pgc-corosync", "pgc", [("ProtectedVM", "DrbdResource", "pg1-drbd")],
             layer="guest"),
]


def test_a_layer_is_its_components_with_what_waits_for_what_reduced():
    dot = stack_dot(STEPS, "hypervisor")
    assert 'label="HypervisorCluster hv"' in dot and 'label="ProtectedVM pg1"' in dot and "GuestPgCluster" not in dot
    assert 'label="LogicalVolume\\nlv"' in dot and 'label="CorosyncCluster\\ncorosync"' in dot
    assert dot.count("->") == 2  # corosync -> lv -> drbd; corosync -> drbd is implied and not drawn


def test_the_guest_layer_shows_its_outside_dependencies_and_where_a_resource_runs():
    dot = stack_dot(STEPS, "guest")
    assert 'label="DrbdResource\\npg1-drbd", style="rounded,dashed"' in dot
    assert 'label="SystemAccount\\nfence-account\\n(on the hypervisor nodes)"' in dot
    assert 'label="CorosyncCluster\\ncorosync"' in dot and dot.count("->") == 1


def test_the_same_preview_draws_the_same_text():
    assert stack_dot(STEPS, "hypervisor") == stack_dot(list(STEPS), "hypervisor")
