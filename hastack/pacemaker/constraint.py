"""Location, colocation and order constraints (pcs/lib/cib/constraint/*): their specs and id
rules, the pcs argv that create and delete them, their reading from a CIB in the spec's own
shape, what is compared, the resource PcsConstraint manages (props, live state, plans), and the
CIB-wide check that nothing startable lacks them."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from hastack.pacemaker.common import Argv, Spec, cib_plan, cib_root, nvpairs
from hastack.plan import Plan
from hastack.resources.base import Live, Props

Action = Literal["start", "promote", "demote", "stop"]
ROLES = {"Master": "Promoted", "Slave": "Unpromoted", "Started": None}  # Started: any role


class LocationSpec(Spec):
    kind: Literal["location"] = "location"
    id: str
    resource: str
    node: str
    score: str  # "100", "-INFINITY"


class ColocationSpec(Spec):
    kind: Literal["colocation"] = "colocation"
    id: str
    resource: str
    with_resource: str
    with_role: Literal["Promoted", "Unpromoted", "Started"] | None = None
    score: str = "INFINITY"


class OrderSpec(Spec):
    kind: Literal["order"] = "order"
    id: str
    first: str
    first_action: Action = "start"
    then: str
    then_action: Action = "start"


ConstraintSpec = Annotated[Union[LocationSpec, ColocationSpec, OrderSpec], Field(discriminator="kind")]


# ---- id rules -----------------------------------------------------------------------------------
def location_id(resource: str, relation: str, node: str) -> str:
    """loc-<resource>-prefers-<node>, loc-<device>-avoids-<node>: the node by its config name."""
    return f"loc-{resource}-{relation}-{node}"


def order(first: str, then: str, first_action: Action = "start") -> OrderSpec:
    """`then` starts after `first_action` of `first`."""
    return OrderSpec(id=f"ord-{first}-then-{then}", first=first, first_action=first_action, then=then)


def colocation(resource: str, with_resource: str, with_role: str | None = None) -> ColocationSpec:
    """`resource` runs only where `with_resource` runs (in `with_role`), INFINITY."""
    return ColocationSpec(id=f"col-{resource}-with-{with_resource}", resource=resource,
                          with_resource=with_resource, with_role=with_role)


# ---- pcs argv -----------------------------------------------------------------------------------
def create_argv(spec: LocationSpec | ColocationSpec | OrderSpec) -> Argv:
    if isinstance(spec, LocationSpec):
        # `--` keeps a negative score such as -INFINITY from being read as an option.
        return ["constraint", "location", "add", spec.id, spec.resource, spec.node, "--", spec.score]
    if isinstance(spec, ColocationSpec):
        with_role = [spec.with_role] if spec.with_role else []
        return ["constraint", "colocation", "add", spec.resource, "with", *with_role,
                spec.with_resource, spec.score, f"id={spec.id}"]
    if isinstance(spec, OrderSpec):
        return ["constraint", "order", spec.first_action, spec.first, "then", spec.then_action,
                spec.then, f"id={spec.id}"]
    raise TypeError(spec)


def delete_argv(spec: LocationSpec | ColocationSpec | OrderSpec) -> Argv:
    return ["constraint", "delete", spec.id]


# ---- reading from a CIB -------------------------------------------------------------------------
def read(cib_xml: str, constraint_id: str) -> LocationSpec | ColocationSpec | OrderSpec | None:
    for element in cib_root(cib_xml).iter():
        if element.tag.startswith("rsc_") and element.get("id") == constraint_id:
            a = element.attrib
            if element.tag == "rsc_location":
                return LocationSpec(id=a["id"], resource=a.get("rsc", ""), node=a.get("node", ""),
                                    score=a.get("score", ""))
            if element.tag == "rsc_colocation":
                role = a.get("with-rsc-role")
                return ColocationSpec(id=a["id"], resource=a.get("rsc", ""), with_resource=a.get("with-rsc", ""),
                                      with_role=ROLES.get(role, role), score=a.get("score", ""))
            if element.tag == "rsc_order":
                return OrderSpec(id=a["id"], first=a.get("first", ""), then=a.get("then", ""),
                                 first_action=a.get("first-action", "start"), then_action=a.get("then-action", "start"))
    return None


def _compared(spec) -> dict:
    data = spec.model_dump()
    if data.get("with_role") == "Started":
        data["with_role"] = None  # the default role: the same constraint
    return data


# ---- the resource PcsConstraint (the shape of hastack/resources/base.py, read from a CIB) -------
class Constraint(Spec):
    """The object PcsConstraint manages: one constraint of any kind."""

    spec: ConstraintSpec


class PcsConstraintProps(Props, Constraint):
    pass


class PcsConstraintLive(Live):
    spec: ConstraintSpec  # the constraint of that id, as the CIB holds it


PROPS, LIVE = PcsConstraintProps, PcsConstraintLive
COMPARED, REPLACED = ("spec",), ()
ADOPTS_EXISTING = True  # a constraint that exists as configured is taken over by create


def resource_id(obj: Constraint) -> str:
    return obj.spec.id


def observe(obj: Constraint, cib_xml: str) -> PcsConstraintLive | None:
    live = read(cib_xml, obj.spec.id)
    return None if live is None else PcsConstraintLive(spec=live)


def drifted(obj: Constraint, live: PcsConstraintLive) -> tuple[str, ...]:
    return ("spec",) if _compared(live.spec) != _compared(obj.spec) else ()


def plan_create(obj: Constraint) -> Plan:
    return cib_plan(create_argv(obj.spec))


def plan_update(old: Constraint, new: Constraint, live: PcsConstraintLive | None) -> Plan:
    # Delete and add in one patch: the cluster never sees the constraint missing.  The live one,
    # if read, has the old one's id: nothing more to know.
    return cib_plan(delete_argv(old.spec), create_argv(new.spec))


def plan_delete(obj: Constraint) -> Plan:
    return cib_plan(delete_argv(obj.spec))


# ---- a CIB-wide check ---------------------------------------------------------------------------
def unguarded_resources(cib_xml: str) -> list[str]:
    """Resources Pacemaker may start that lack the constraints which place them: a top-level
    primitive (not a fence device, not inside a clone or group) whose target-role is not Stopped
    but that is not the `then` of an order and the `rsc` of a colocation.  An empty list means no
    instant at which something could start unconstrained (the invariant `up` must keep)."""
    root = cib_root(cib_xml)
    resources = root.find(".//configuration/resources")
    if resources is None:
        return []
    ordered = {o.get("then") for o in root.iter("rsc_order")}
    colocated = {c.get("rsc") for c in root.iter("rsc_colocation")}
    defaults = nvpairs(root.find(".//rsc_defaults"))
    problems = []
    for primitive in resources.findall("primitive"):
        if primitive.get("class") == "stonith":
            continue
        rid = primitive.get("id")
        role = nvpairs(primitive.find("meta_attributes")).get("target-role", defaults.get("target-role", "Started"))
        if role.lower() == "stopped":
            continue
        missing = [kind for kind, have in (("order", rid in ordered), ("colocation", rid in colocated)) if not have]
        if missing:
            problems.append(f"{rid} may start without its {' and '.join(missing)} constraint")
    return problems
