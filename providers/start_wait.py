"""Waiting, after a step that lets a resource start, until it runs: so `up` never reports success
for a VM that did not start or a fence device that cannot fence.  When it does not run in time,
the caller's undo puts the cluster back as it was before the step, or the error says what is left."""
from __future__ import annotations

from hastack.apply import apply_live
from hastack.plan import CLUSTER, Plan
from hastack.reports import HastackError
from hastack.start_wait import wait_until_running
from providers.base import Props, transports


def wait_running_or_undo(props: Props, resource_id: str, wait_s: int, undo: Plan | None, outcome: str) -> None:
    """Returns once RESOURCE_ID runs (at once when wait_s is 0).  Otherwise applies UNDO, if
    any, and fails with Pacemaker's failed actions and OUTCOME: what the cluster holds now."""
    if wait_s <= 0:
        return
    transport_for = transports(props)
    try:
        wait_until_running(transport_for(CLUSTER), resource_id, wait_s)
    except HastackError as error:
        if error.code != "NOT_RUNNING":
            raise
        if undo is not None:
            apply_live(undo, transport_for)
        raise HastackError(error.code, f"{error.message}\n  so {outcome}") from None
