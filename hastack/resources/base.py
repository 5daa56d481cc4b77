"""What every host resource shares, and the shape of a resource module.

A resource module (`hastack/resources/<name>.py`, no pulumi) holds:

    PROPS                   the props model: what the config wants (a subclass of Props)
    LIVE                    the typed live state, as read from the hosts (a subclass of Live)
    COMPARED, REPLACED      props fields whose change is an update, and those that make a replace
    resource_id(props)
    observe(props, transport_for) -> Live | None      None: gone from every node
    drifted(props, live) -> tuple[str, ...]          the props fields the live state contradicts
    plan_create(props, found) -> Plan                found: what `find` saw before the create
    plan_update(old, new, live) -> Plan              live: the last refresh's reading, or None
    plan_delete(props) -> Plan

and optionally `find(props, transport_for)` (a look before the create; without it `found` is
None), `OUTPUTS` (outputs besides `live`) and `RETIRED` (props fields of older state, ignored).
A plan's `Run(notes=True)` steps speak to the operator (a step that skipped, and why): `up`
shows each line they print, and the resource records them in its `notes` output (node -> lines).
Each probe is a command beside the function that reads its output.  providers/<name>.py adapts
the module to Pulumi.  A Pacemaker object's resource has the same shape, in hastack/pacemaker/
(see its __init__.py): its observe reads a CIB.
"""
from __future__ import annotations

import hashlib
import types
from typing import Any

from pydantic import BaseModel, ConfigDict

from hastack.plan import Plan, Step, together


class NodeRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    ssh: dict[str, Any]


class Props(BaseModel):
    """Base of every resource's props: the layer it belongs to and the nodes it acts on."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    layer: str
    nodes: tuple[NodeRef, ...]


class Live(BaseModel):
    """Base of every resource's live state: read from the hosts, never a config value."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def validate_props(kind: types.ModuleType, raw: dict) -> Props:
    """KIND's props model over RAW, a resource's inputs or recorded outputs, without what is not
    a prop: the engine's own keys (`__provider`), the `live` a refresh recorded, the `notes` the
    last create or update recorded, the kind's OUTPUTS and its RETIRED fields.  ValidationError
    names the field."""
    dropped = ("live", "notes", *getattr(kind, "OUTPUTS", ()), *getattr(kind, "RETIRED", ()))
    return kind.PROPS.model_validate({k: v for k, v in raw.items() if not k.startswith("__") and k not in dropped})


def on_each_node(props: Props, *steps: Step) -> Plan:
    """The same steps on every node of the resource, the nodes at once (each node's in order)."""
    return together({node.name: steps for node in props.nodes})


def digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
