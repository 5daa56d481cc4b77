"""StonithDevice: a fence device and the location that keeps it off the node it fences, in one
CIB patch (a device able to run on its own target could be asked to shoot its own host)."""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.facts.cib import parse_constraint
from hastack.render.pcs import constraint_create_argv, constraint_delete_argv, primitive_create_argvs, primitive_delete_argvs
from hastack.specs import LocationSpec
from providers.cib_object import cib_plan
from providers.pcs_resource import PcsResourceProps, PcsResourceProvider, cleanup, secrets_for, update_argvs
from providers.start_wait import wait_running_or_undo


class StonithDeviceProps(PcsResourceProps):
    # After a refresh: None when the avoid constraint was deleted, "NODE (SCORE)" when edited.
    fences_node: str | None
    # Guest devices: the hypervisor addresses the agent asks (for the policy pack; not compared).
    fence_path: tuple[str, ...] = ()
    # Create and update return once the device runs (0: at once).  A device that cannot start
    # (a wrong BMC password, an unreachable BMC) leaves its node unfenceable: `up` must say so.
    start_wait_s: int = 0


def avoid_spec(props: StonithDeviceProps) -> LocationSpec:
    # The id names the node by its host's first label (Pacemaker names it by its FQDN).
    short = (props.fences_node or "").split(".", 1)[0]
    return LocationSpec(id=f"loc-{props.spec.id}-avoids-{short}", resource=props.spec.id,
                        node=props.fences_node, score="-INFINITY")


class StonithDeviceProvider(PcsResourceProvider):
    # The live password cannot be read back to compare: a device that exists is never adopted.
    adopts_existing = False
    props_model = StonithDeviceProps
    compare_fields = ("spec", "secret_values", "fences_node")

    def plan_create(self, props: StonithDeviceProps, facts=None):
        return cib_plan(*primitive_create_argvs(props.spec), constraint_create_argv(avoid_spec(props)),
                        secrets=secrets_for(props))

    def plan_delete(self, props: StonithDeviceProps):
        return cib_plan(*primitive_delete_argvs(props.spec))  # pcs drops its constraints with it

    def plan_update(self, old: StonithDeviceProps, new: StonithDeviceProps):
        commands = update_argvs(old.spec, new.spec)
        if old.fences_node != new.fences_node:
            if old.fences_node is not None:  # the live constraint is on the node before " (SCORE)"
                live = old.model_copy(update={"fences_node": old.fences_node.split(" (", 1)[0]})
                commands.append(constraint_delete_argv(avoid_spec(live)))
            commands.append(constraint_create_argv(avoid_spec(new)))
        return cib_plan(*commands, secrets=secrets_for(new)) + cleanup(new.spec)

    def create(self, props):
        result = super().create(props)
        p = self._props(props)
        wait_running_or_undo(p, p.spec.id, p.start_wait_s, self.plan_delete(p),
                             f"{p.spec.id} and the location keeping it off {p.fences_node} were removed again: "
                             "the cluster is as before this step")
        return result

    def update(self, _id, olds, news):
        result = super().update(_id, olds, news)
        p = self._props(news)
        wait_running_or_undo(p, p.spec.id, p.start_wait_s, None,
                             f"{p.spec.id} has its new definition but does not run, and {p.fences_node} cannot be "
                             "fenced until it does; the next `pulumi up` applies this update again")
        return result

    def observe_cib(self, props: StonithDeviceProps, cib_xml: str):
        observed = super().observe_cib(props, cib_xml)
        if observed is None:
            return None
        avoid = parse_constraint(cib_xml, avoid_spec(props).id)
        if avoid is None or avoid["node"] != props.fences_node or avoid["score"] != "-INFINITY":
            observed["fences_node"] = None if avoid is None else f"{avoid['node']} ({avoid['score']})"
        return observed


class StonithDevice(pulumi.dynamic.Resource, module="hastack", name="StonithDevice"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(StonithDeviceProvider(), name, props, opts)
