"""StonithDevice: a fence device and the location that keeps it off the node it fences, in one
CIB patch.  What it is, its argv, its reading and its comparison: hastack/pacemaker/stonith.py."""
from __future__ import annotations

from hastack.pacemaker import stonith
from providers.base import Props, dynamic_resource
from providers.pcs_resource import PcsResourceProvider
from providers.start_wait import wait_running_or_undo


class StonithDeviceProps(Props, stonith.FenceDevice):
    # Create and update return once the device runs (0: at once): a device that cannot start
    # (a wrong BMC password, an unreachable BMC) leaves its node unfenceable, and `up` says so.
    start_wait_s: int = 0


class StonithDeviceProvider(PcsResourceProvider):
    # The live password cannot be read back to compare: a device that exists is never adopted.
    adopts_existing = False
    props_model = StonithDeviceProps
    compare_fields = ("spec", "secret_values", "fences_node")

    def plan_create(self, props: StonithDeviceProps):
        return stonith.plan_create(props)

    def plan_delete(self, props: StonithDeviceProps):
        return stonith.plan_delete(props)

    def plan_update(self, old: StonithDeviceProps, new: StonithDeviceProps):
        return stonith.plan_update(old, new)

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
        return stonith.observe(props, cib_xml)


StonithDevice = dynamic_resource("StonithDevice", StonithDeviceProvider)
