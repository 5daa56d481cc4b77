"""Every hastack resource type, once: render and the tests read this table (the policy pack
names the types its rules look at itself).

A type `X` is the dynamic resource `pulumi-python:dynamic/hastack:X`, its provider is
`providers.<x>.XProvider` (the module is the snake case of the type), and a host resource's core
is `hastack.resources.<x>`.  The rows are the order in which a fresh stack's plans apply: the
engine's order follows dependencies, and `render` reproduces it with these ranks.  Render
refuses a hastack type that is not here.
"""
from __future__ import annotations

import re

from hastack.reports import HastackError

TOKEN_PREFIX = "pulumi-python:dynamic/hastack:"

APPLY_ORDER: tuple[tuple[str, ...], ...] = (
    ("Firewall",),  # before corosync and DRBD: on a default-deny host neither reaches its peer without it
    ("CorosyncCluster",),
    ("PcsClusterConfig", "SystemAccount", "SystemdUnit"),
    ("RemoteFile", "HostsEntries", "SelinuxModule", "DrbdAgentPatch"),
    ("StonithDevice",),
    ("LogicalVolume",),
    ("DrbdResource",),
    ("LibvirtDomain",),
    ("PcsResource",),
    ("PcsConstraint",),
    ("PcsResourceEnable",),
    ("NagiosObjects",),  # last: a guest's Nagios host is checked once the guest runs
)
RANK = {name: rank for rank, names in enumerate(APPLY_ORDER) for name in names}
TYPES = tuple(RANK)

# Types whose core is a module of hastack/resources (the others are Pacemaker objects).
HOST_TYPES = ("Firewall", "CorosyncCluster", "SystemAccount", "SystemdUnit", "RemoteFile", "HostsEntries", "SelinuxModule",
              "DrbdAgentPatch", "LogicalVolume", "DrbdResource", "LibvirtDomain", "NagiosObjects")


def module_name(type_name: str) -> str:
    """LogicalVolume -> logical_volume: the module of its provider (and of its core)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).lower()


def hastack_type(token: str) -> str | None:
    """The hastack type of a Pulumi type token; None for a token that is not a hastack resource
    (a component, another provider's resource).  UNKNOWN_RESOURCE_TYPE for a hastack token that
    is not in this table."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    name = token.removeprefix(TOKEN_PREFIX)
    if name not in RANK:
        raise HastackError("UNKNOWN_RESOURCE_TYPE", f"{token} is a hastack resource type that "
                           f"hastack/resources/registry.py does not list (known: {', '.join(TYPES)}); add it there")
    return name
