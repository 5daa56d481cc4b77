"""Waiting (`start_wait`) for the cluster to act on what `up` configured: a resource that was
enabled should run.

`up` configures and Pacemaker acts; without this wait an `up` could report success while a VM
failed to start.  Polls `crm_mon` (0.3 s on the host, one SSH channel) rather than running a
loop on the host, so that each poll's failure is reported like any other command.  When it does
not run in time, the caller's undo puts the cluster back as it was before the step, or the error
says what is left."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Callable

from hastack.apply import apply_live
from hastack.facts.status import (failed_actions, handler_constraint_ids, healthy_on, parse_crm_mon,
                                  parse_scores, resource_state, why_not_placed)
from hastack.plan import CLUSTER, Plan
from hastack.reports import HastackError
from hastack.transport import TransportFor

CRM_MON = ("crm_mon", "-1", "--output-as=xml")
SCORES = ("crm_simulate", "-Ls")
CONSTRAINTS = ("cibadmin", "--query", "--scope", "constraints")


def wait_until_running(cluster, resource_id: str, timeout_s: float, interval_s: float = 10.0,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """The nodes the resource runs on, once it runs; NOT_RUNNING with its failed actions when it
    does not within timeout_s (the caller decides what to leave behind).  Failed actions alone do
    not end the wait: Pacemaker recovers (restart, or the other node) and a later start may succeed."""
    deadline = clock() + timeout_s
    while True:
        status = parse_crm_mon(cluster.run(list(CRM_MON)).stdout)
        nodes = healthy_on(status, resource_id)
        if nodes:
            return nodes
        if clock() >= deadline:
            raise HastackError("NOT_RUNNING", not_running_message(status, resource_id, timeout_s, cluster.name,
                                                                  scheduler_view(cluster, resource_id)))
        sleep(interval_s)


def scheduler_view(cluster, resource_id: str) -> list[str]:
    """Why the scheduler does not place the resource, from its own scores (two reads, under a
    second each); a read that fails says so instead of hiding the NOT_RUNNING it explains."""
    try:
        scores = parse_scores(cluster.run(list(SCORES)).stdout)
        handlers = handler_constraint_ids(cluster.run(list(CONSTRAINTS)).stdout)
    except HastackError as error:
        return [f"the scheduler's scores could not be read ({error.code})"]
    except ET.ParseError:
        return ["the CIB's constraints could not be read (cibadmin printed no XML)"]
    return why_not_placed(scores, handlers, resource_id)


def not_running_message(status: dict, resource_id: str, timeout_s: float, where: str,
                        scheduler: list[str] = ()) -> str:
    failures = failed_actions(status, resource_id)
    offline = sorted(n for n, s in status["nodes"].items() if not s["online"])
    return (f"{resource_id} is enabled and constrained, but Pacemaker has not started it within "
            f"{timeout_s:.0f} s (now: {resource_state(status, resource_id)}); "
            f"failed actions: {'; '.join(failures) or 'none'}"
            + (f"; offline nodes: {', '.join(offline)}" if offline else "")
            + "".join(f"; {line}" for line in scheduler)
            + f". See `crm_mon -1rf` on {where}; once the cause is fixed, "
              f"`crm_resource --cleanup --resource {resource_id}`, then `pulumi up` again.")


def wait_running_or_undo(transport_for: TransportFor, resource_id: str, wait_s: int, undo: Plan | None,
                         outcome: str, **poll) -> None:
    """Returns once RESOURCE_ID runs (at once when wait_s is 0), polling the cluster through
    TRANSPORT_FOR (POLL: wait_until_running's interval_s, clock, sleep).  Otherwise applies UNDO,
    if any, and fails with Pacemaker's failed actions and OUTCOME: what the cluster holds now."""
    if wait_s <= 0:
        return
    try:
        wait_until_running(transport_for(CLUSTER), resource_id, wait_s, **poll)
    except HastackError as error:
        if error.code != "NOT_RUNNING":
            raise
        if undo is not None:
            apply_live(undo, transport_for)
        raise HastackError(error.code, f"{error.message}\n  so {outcome}") from None
