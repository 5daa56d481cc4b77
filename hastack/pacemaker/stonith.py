"""A fence device and the location that keeps it off the node it fences (pcs/lib/cib/stonith.py),
one object in one CIB patch: a device able to run on its own target could be asked to shoot its
own host.  The device itself is a primitive (primitive.py)."""
from __future__ import annotations

from hastack.pacemaker import constraint, primitive
from hastack.pacemaker.common import cib_plan
from hastack.pacemaker.constraint import LocationSpec
from hastack.pacemaker.primitive import Primitive
from hastack.plan import Plan

AVOID_SCORE = "-INFINITY"


class FenceDevice(Primitive):
    # After a refresh: None when the avoid location was deleted, "NODE (SCORE)" when edited.
    fences_node: str | None
    # Guest devices: the hypervisor addresses the agent asks (for the policy pack; not compared).
    fence_path: tuple[str, ...] = ()


def avoid_location_id(device_id: str, node: str) -> str:
    # The id names the node by its host's first label (Pacemaker names it by its FQDN).
    return constraint.location_id(device_id, "avoids", node.split(".", 1)[0])


def avoid_spec(device: FenceDevice, node: str | None = None) -> LocationSpec:
    node = device.fences_node if node is None else node
    return LocationSpec(id=avoid_location_id(device.spec.id, node or ""), resource=device.spec.id, node=node,
                        score=AVOID_SCORE)


def plan_create(device: FenceDevice) -> Plan:
    return cib_plan(*primitive.create_argvs(device.spec), constraint.create_argv(avoid_spec(device)),
                    secrets=device.secrets())


def plan_delete(device: FenceDevice) -> Plan:
    return cib_plan(*primitive.delete_argvs(device.spec))  # pcs drops its constraints with it


def plan_update(old: FenceDevice, new: FenceDevice) -> Plan:
    commands = primitive.update_argvs(old.spec, new.spec)
    if old.fences_node != new.fences_node:
        if old.fences_node is not None:  # the live location is on the node before " (SCORE)"
            commands.append(constraint.delete_argv(avoid_spec(old, old.fences_node.split(" (", 1)[0])))
        commands.append(constraint.create_argv(avoid_spec(new)))
    return cib_plan(*commands, secrets=new.secrets()) + primitive.cleanup(new.spec)


def observe(device: FenceDevice, cib_xml: str) -> dict | None:
    observed = primitive.observe(device, cib_xml)
    if observed is None:
        return None
    avoid = constraint.read(cib_xml, avoid_spec(device).id)
    if avoid is None or avoid.node != device.fences_node or avoid.score != AVOID_SCORE:
        observed["fences_node"] = None if avoid is None else f"{avoid.node} ({avoid.score})"
    return observed
