"""Pure parsers of a CIB: what a Pacemaker object looks like live, in the shape of its spec."""
from __future__ import annotations

import xml.etree.ElementTree as ET


def _nvpairs(element) -> dict[str, str]:
    if element is None:
        return {}
    return {nv.get("name"): nv.get("value") for nv in element.iter("nvpair")}


def _root(cib_xml: str):
    return ET.fromstring(cib_xml)


def parse_primitive(cib_xml: str, resource_id: str) -> dict | None:
    """Params, meta, ops and promotable clone meta of one primitive; None if absent."""
    root = _root(cib_xml)
    for parent in root.iter():
        for child in parent:
            if child.tag == "primitive" and child.get("id") == resource_id:
                return _primitive(child, parent)
    return None


def _primitive(primitive, parent) -> dict:
    agent_class, provider, kind = primitive.get("class"), primitive.get("provider"), primitive.get("type")
    agent = f"stonith:{kind}" if agent_class == "stonith" else ":".join(x for x in (agent_class, provider, kind) if x)
    ops = [
        {k: v for k, v in op.attrib.items() if k in ("name", "interval", "timeout", "role")}
        for op in primitive.iter("op")
    ]
    promotable = None
    if parent.tag == "clone":
        meta = _nvpairs(parent.find("meta_attributes"))
        meta.pop("promotable", None)
        promotable = {"clone_id": parent.get("id"), "meta": meta}
    return {
        "agent": agent,
        "params": _nvpairs(primitive.find("instance_attributes")),
        "meta": _nvpairs(primitive.find("meta_attributes")),
        "ops": ops,
        "promotable": promotable,
    }


def parse_constraint(cib_xml: str, constraint_id: str) -> dict | None:
    for element in _root(cib_xml).iter():
        if element.tag.startswith("rsc_") and element.get("id") == constraint_id:
            a = element.attrib
            if element.tag == "rsc_location":
                return {"kind": "location", "id": a["id"], "resource": a.get("rsc"), "node": a.get("node"),
                        "score": a.get("score")}
            if element.tag == "rsc_colocation":
                role = a.get("with-rsc-role")
                return {"kind": "colocation", "id": a["id"], "resource": a.get("rsc"),
                        "with_resource": a.get("with-rsc"), "score": a.get("score"),
                        "with_role": None if role in (None, "Started") else role}
            if element.tag == "rsc_order":
                return {"kind": "order", "id": a["id"], "first": a.get("first"), "then": a.get("then"),
                        "first_action": a.get("first-action", "start"),
                        "then_action": a.get("then-action", "start")}
    return None


def parse_properties(cib_xml: str) -> dict[str, str]:
    root = _root(cib_xml)
    props = {}
    for nvset in root.iter("cluster_property_set"):
        if nvset.get("id") == "cib-bootstrap-options":
            props.update(_nvpairs(nvset))
    return props


def parse_resource_defaults(cib_xml: str) -> dict[str, str]:
    rsc_defaults = _root(cib_xml).find(".//rsc_defaults")
    return _nvpairs(rsc_defaults) if rsc_defaults is not None else {}


def parse_alert(cib_xml: str, alert_id: str) -> dict | None:
    for alert in _root(cib_xml).iter("alert"):
        if alert.get("id") == alert_id:
            return {
                "id": alert_id,
                "path": alert.get("path"),
                "recipients": [[r.get("id"), r.get("value")] for r in alert.iter("recipient")],
            }
    return None


def target_role(cib_xml: str, resource_id: str) -> str | None:
    found = parse_primitive(cib_xml, resource_id)
    return None if found is None else found["meta"].get("target-role")


def unguarded_resources(cib_xml: str) -> list[str]:
    """Resources Pacemaker may start that lack the constraints which place them: a top-level
    primitive (not a fence device, not inside a clone or group) whose target-role is not Stopped
    but that is not the `then` of an order and the `rsc` of a colocation.  An empty list means no
    instant at which something could start unconstrained (the invariant `up` must keep)."""
    root = _root(cib_xml)
    resources = root.find(".//configuration/resources")
    if resources is None:
        return []
    ordered = {o.get("then") for o in root.iter("rsc_order")}
    colocated = {c.get("rsc") for c in root.iter("rsc_colocation")}
    defaults = parse_resource_defaults(cib_xml)
    problems = []
    for primitive in resources.findall("primitive"):
        if primitive.get("class") == "stonith":
            continue
        rid = primitive.get("id")
        role = _nvpairs(primitive.find("meta_attributes")).get("target-role", defaults.get("target-role", "Started"))
        if role.lower() == "stopped":
            continue
        missing = [kind for kind, have in (("order", rid in ordered), ("colocation", rid in colocated)) if not have]
        if missing:
            problems.append(f"{rid} may start without its {' and '.join(missing)} constraint")
    return problems
