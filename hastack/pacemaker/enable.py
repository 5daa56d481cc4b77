"""Letting a resource that was created disabled start, once its constraints exist: the resource
PcsResourceEnable manages (the shape of hastack/resources/base.py, read from a CIB), which is the
primitive's target-role.  Its argv are primitive.py's enable and disable.

ProtectedVM creates the VirtualDomain with target-role=Stopped, then its order, colocation and
location constraints, then this: so at no instant can the VM start unconstrained.  With
`start_wait_s`, create and update return only once the resource runs somewhere; when it does not,
the resource is disabled again and the step fails with its failed actions, so `up` never reports
success for a VM that did not start (Pulumi keeps no state of a failed create).  Deleting it stops
the resource and waits until the cluster has settled, so teardown runs in the safe order.
"""
from __future__ import annotations

from hastack.pacemaker import primitive
from hastack.pacemaker.common import Name
from hastack.plan import Plan
from hastack.resources.base import Live, Props


class PcsResourceEnableProps(Props):
    resource_id: Name
    settle_timeout_s: int = 300
    start_wait_s: int = 0  # 0: enable and return


class PcsResourceEnableLive(Live):
    target_role: str | None  # the primitive's target-role meta attribute; None: not set


PROPS, LIVE = PcsResourceEnableProps, PcsResourceEnableLive
COMPARED = REPLACED = ("resource_id",)


def resource_id(props: PcsResourceEnableProps) -> str:
    return f"{props.resource_id}-enabled"


def observe(props: PcsResourceEnableProps, cib_xml: str) -> PcsResourceEnableLive | None:
    live = primitive.read(cib_xml, props.resource_id)
    return None if live is None else PcsResourceEnableLive(target_role=live.meta.get("target-role"))


def drifted(props: PcsResourceEnableProps, live: PcsResourceEnableLive) -> tuple[str, ...]:
    """("resource_id",) when that resource is not enabled (a target-role other than Started)."""
    return () if live.target_role in (None, "Started", "started") else ("resource_id",)


def plan_create(props: PcsResourceEnableProps) -> Plan:
    return primitive.plan_enable(props.resource_id)


def plan_update(old: PcsResourceEnableProps, new: PcsResourceEnableProps, live: PcsResourceEnableLive | None) -> Plan:
    # Another resource_id is a replace: an update only enables again what was disabled.
    return primitive.plan_enable(new.resource_id)


def plan_delete(props: PcsResourceEnableProps) -> Plan:
    return primitive.plan_disable(props.resource_id) + primitive.settle(props.settle_timeout_s)


def start_wait(props: PcsResourceEnableProps, created: bool) -> tuple[str, int, Plan | None, str]:
    """What a create or an update waits for once applied (hastack/start_wait.py): the resource
    running, within start_wait_s; else the undo, and what the cluster is left with."""
    return props.resource_id, props.start_wait_s, primitive.plan_disable(props.resource_id), (
        f"{props.resource_id} was disabled again (target-role=Stopped): the cluster is as before this step")
