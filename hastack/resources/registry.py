"""Every hastack resource type, once: render, the policy pack and the tests read this table.

A type `X` is the dynamic resource `pulumi-python:dynamic/hastack:X`, its provider is
`providers.<x>.XProvider` (the module is the snake case of the type), and its core (`core(X)`:
props model, live state, plans) is `hastack.resources.<x>` for a host resource and the
Pacemaker object module CIB_KINDS names for the others.  The rows are the order in which a fresh stack's plans apply: the
engine's order follows dependencies, and `render` reproduces it with these ranks.  Render
refuses a hastack type that is not here.
"""
from __future__ import annotations

import importlib
import re
import types

from hastack.reports import HastackError

TOKEN_PREFIX = "pulumi-python:dynamic/hastack:"

APPLY_ORDER: tuple[tuple[str, ...], ...] = (
    ("HostPreflight",),  # first: a host that lacks what hastack needs is refused before any change
    ("Firewall",),  # before corosync and DRBD: on a default-deny host neither reaches its peer without it
    ("CorosyncCluster",),
    ("PcsClusterConfig", "SystemAccount", "SystemdUnit"),
    ("RemoteFile", "HostsEntries", "SelinuxModule", "SelinuxBooleans", "DrbdAgentPatch", "OcfHelperLinks"),
    ("StonithDevice",),
    ("LogicalVolume",),
    ("DrbdResource",),
    ("VmHostKey",),
    ("LibvirtDomain",),
    ("VmFirstBoot",),  # after the domain's definition, before Pacemaker's clone takes the DRBD role over
    ("PcsResource",),
    ("PcsConstraint",),
    ("PcsResourceEnable",),
    ("NagiosObjects",),  # last: a guest's Nagios host is checked once the guest runs
)
RANK = {name: rank for rank, names in enumerate(APPLY_ORDER) for name in names}
TYPES = tuple(RANK)

# The Pacemaker object module (hastack/pacemaker/<module>.py) of each type that is not a host type.
CIB_KINDS = {"PcsClusterConfig": "cluster_config", "StonithDevice": "stonith", "PcsResource": "primitive",
             "PcsConstraint": "constraint", "PcsResourceEnable": "enable"}
# Types that live in the state only (their core module's `made` is their create): no host, no plan.
STATE_TYPES = ("VmHostKey",)
# Their core is a module of hastack/resources, acting on hosts.
HOST_TYPES = tuple(t for t in TYPES if t not in CIB_KINDS and t not in STATE_TYPES)


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


def core(type_name: str) -> types.ModuleType:
    """The core module of a registered type (no pulumi): hastack.resources.<x> or hastack.pacemaker.<kind>."""
    if type_name in CIB_KINDS:
        return importlib.import_module(f"hastack.pacemaker.{CIB_KINDS[type_name]}")
    if type_name in HOST_TYPES or type_name in STATE_TYPES:
        return importlib.import_module(f"hastack.resources.{module_name(type_name)}")
    raise HastackError("UNKNOWN_RESOURCE_TYPE", f"{type_name} is not a hastack resource type (known: "
                       f"{', '.join(TYPES)}); add it to hastack/resources/registry.py")
