"""PcsResourceEnable: lets a resource that was created disabled start, once its constraints exist.

ProtectedVM creates the VirtualDomain with target-role=Stopped, then its order, colocation and
location constraints, then this: so at no instant can the VM start unconstrained.  With
`start_wait_s`, create and update return only once the resource runs somewhere; when it does not,
the resource is disabled again and the step fails with its failed actions, so `up` never reports
success for a VM that did not start (Pulumi keeps no state of a failed create).  Deleting it stops
the resource and waits until the cluster has settled, so teardown runs in the safe order.
"""
from __future__ import annotations

from hastack.pacemaker import primitive
from providers.base import Props, dynamic_resource
from providers.cib_object import CibObjectProvider
from providers.start_wait import wait_running_or_undo


class PcsResourceEnableProps(Props):
    resource_id: str
    settle_timeout_s: int = 300
    start_wait_s: int = 0  # 0: enable and return


class PcsResourceEnableProvider(CibObjectProvider):
    props_model = PcsResourceEnableProps
    compare_fields = ("resource_id",)
    replace_fields = ("resource_id",)

    def resource_id(self, props):
        return f"{props.resource_id}-enabled"

    def plan_create(self, props):
        return primitive.plan_enable(props.resource_id)

    def plan_delete(self, props):
        return primitive.plan_disable(props.resource_id) + primitive.settle(props.settle_timeout_s)

    def create(self, props):
        result = super().create(props)
        self._wait(self._props(props))
        return result

    def update(self, _id, olds, news):
        result = super().update(_id, olds, news)
        self._wait(self._props(news))
        return result

    def _wait(self, props: PcsResourceEnableProps) -> None:
        wait_running_or_undo(props, props.resource_id, props.start_wait_s, primitive.plan_disable(props.resource_id),
                             f"{props.resource_id} was disabled again (target-role=Stopped): the cluster is as "
                             "before this step")

    def observe_cib(self, props, cib_xml):
        return primitive.observe_enabled(props.resource_id, cib_xml)


PcsResourceEnable = dynamic_resource("PcsResourceEnable", PcsResourceEnableProvider)
