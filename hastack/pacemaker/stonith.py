"""A fence device and the location that keeps it off the node it fences (pcs/lib/cib/stonith.py),
one object in one CIB patch: a device able to run on its own target could be asked to shoot its
own host.  The device itself is a primitive (primitive.py).  The resource StonithDevice manages
has the shape of hastack/resources/base.py, read from a CIB."""
from __future__ import annotations

from hastack.pacemaker import constraint, primitive
from hastack.pacemaker.common import Name, cib_plan
from hastack.pacemaker.constraint import LocationSpec
from hastack.pacemaker.primitive import Primitive, PcsResourceLive
from hastack.plan import Plan
from hastack.resources.base import Props

AVOID_SCORE = "-INFINITY"


class FenceDevice(Primitive):
    fences_node: Name  # the Pacemaker name of the node it fences
    # Guest devices: the hypervisor addresses the agent asks (for the policy pack; not compared).
    fence_path: tuple[str, ...] = ()


class StonithDeviceProps(Props, FenceDevice):
    # Create and update return once the device runs (0: at once): a device that cannot start
    # (a wrong BMC password, an unreachable BMC) leaves its node unfenceable, and `up` says so.
    start_wait_s: int = 0


class StonithDeviceLive(PcsResourceLive):
    avoid: LocationSpec | None  # the location of avoid_spec's id as the CIB holds it; None: gone


PROPS, LIVE = StonithDeviceProps, StonithDeviceLive
COMPARED, REPLACED = ("spec", "secret_values", "fences_node"), ()
# A device that exists is never adopted: its live password cannot be read back to compare.
resource_id, replaces = primitive.resource_id, primitive.replaces


def avoid_location_id(device_id: str, node: str) -> str:
    # The id names the node by its host's first label (Pacemaker names it by its FQDN).
    return constraint.location_id(device_id, "avoids", node.split(".", 1)[0])


def avoid_spec(device: FenceDevice) -> LocationSpec:
    return LocationSpec(id=avoid_location_id(device.spec.id, device.fences_node), resource=device.spec.id,
                        node=device.fences_node, score=AVOID_SCORE)


def observe(device: FenceDevice, cib_xml: str) -> StonithDeviceLive | None:
    held = primitive.observe(device, cib_xml)
    if held is None:
        return None
    return StonithDeviceLive(spec=held.spec, avoid=constraint.read(cib_xml, avoid_spec(device).id))


def drifted(device: FenceDevice, live: StonithDeviceLive) -> tuple[str, ...]:
    return primitive.drifted(device, live) + (("fences_node",) if live.avoid != avoid_spec(device) else ())


def plan_create(device: FenceDevice) -> Plan:
    return cib_plan(*primitive.create_argvs(device.spec), constraint.create_argv(avoid_spec(device)),
                    secrets=device.secrets())


def plan_delete(device: FenceDevice) -> Plan:
    return cib_plan(*primitive.delete_argvs(device.spec))  # pcs drops its constraints with it


def plan_update(old: FenceDevice, new: FenceDevice, live: StonithDeviceLive | None) -> Plan:
    commands = primitive.update_argvs(primitive.held(old.spec, live), new.spec)
    avoid = avoid_spec(old) if live is None else live.avoid  # the location the CIB holds
    if avoid != avoid_spec(new):
        if avoid is not None:
            commands.append(constraint.delete_argv(avoid))
        commands.append(constraint.create_argv(avoid_spec(new)))
    return cib_plan(*commands, secrets=new.secrets()) + primitive.cleanup(new.spec)


def start_wait(device: StonithDeviceProps, created: bool) -> tuple[str, int, Plan | None, str]:
    """What a create (CREATED) or an update waits for once applied (hastack/start_wait.py): the
    device running, within start_wait_s; else the undo, and what the cluster is left with."""
    if created:
        return device.spec.id, device.start_wait_s, plan_delete(device), (
            f"{device.spec.id} and the location keeping it off {device.fences_node} were removed again: "
            "the cluster is as before this step")
    return device.spec.id, device.start_wait_s, None, (
        f"{device.spec.id} has its new definition but does not run, and {device.fences_node} cannot be "
        "fenced until it does; the next `pulumi up` applies this update again")
