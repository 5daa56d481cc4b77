"""The cluster's status as `crm_mon --output-as=xml` reports it: where each resource runs, in
which role, which nodes are online, and the failed actions; and the scheduler's scores as
`crm_simulate -Ls` prints them.  Pure parsing, no hosts."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET


def parse_crm_mon(xml_text: str) -> dict:
    root = ET.fromstring(xml_text)
    resources: dict[str, list[dict]] = {}
    for resource in root.iter("resource"):
        nodes = [n.get("name") for n in resource.findall("node")]
        resources.setdefault(resource.get("id"), []).append(
            {"role": resource.get("role"), "nodes": nodes, "agent": resource.get("resource_agent", ""),
             "active": resource.get("active") == "true",
             "failed": resource.get("failed") == "true", "pending": resource.get("pending")}
        )
    nodes = {n.get("name"): {"online": n.get("online") == "true", "standby": n.get("standby") == "true",
                             "unclean": n.get("unclean") == "true"} for n in root.iter("node") if n.get("type")}
    failures = [dict(f.attrib) for f in root.iter("failure")]
    dc = root.find("./summary/current_dc")
    # A partition without quorum (no DC elected yet counts as one) runs and fences nothing.
    quorate = dc is not None and dc.get("present") == "true" and dc.get("with_quorum") == "true"
    return {"resources": resources, "nodes": nodes, "failures": failures, "quorate": quorate}


def running_on(status: dict, resource_id: str, role: str | None = None) -> list[str]:
    nodes = []
    for instance in status["resources"].get(resource_id, []):
        if instance["active"] and (role is None or instance["role"] == role):
            nodes += instance["nodes"]
    return sorted(nodes)


def healthy_on(status: dict, resource_id: str) -> list[str]:
    """Where the resource runs, started, with no action in flight and no failure.  crm_mon shows
    a resource whose probe is still running as active ("Started", pending="Monitoring"; seen live:
    an enable wait returned before the VM's probe had finished), a start in progress likewise
    (pending="Starting"), and a failed start as active but FAILED.  None of those is running; a
    recurring monitor in flight only delays the answer to the next poll."""
    return sorted(node for instance in status["resources"].get(resource_id, [])
                  if instance["active"] and not instance["failed"] and instance["pending"] is None
                  for node in instance["nodes"])


def resource_state(status: dict, resource_id: str) -> str:
    """What crm_mon shows of the resource, e.g. 'Stopped', 'Started on node2 (Starting)'."""
    parts = []
    for i in status["resources"].get(resource_id, []):
        where = f" on {', '.join(i['nodes'])}" if i["nodes"] else ""
        pending = f" ({i['pending']})" if i["pending"] else ""
        parts.append(f"{i['role']}{where}{pending}{' FAILED' if i['failed'] else ''}")
    return "; ".join(parts) or "not in the status"


def failed_actions(status: dict, resource_id: str) -> list[str]:
    """The resource's failed actions, as an operator reads them in `crm_mon`:
    'start on node1: Timed Out (exit 1, reason)'.  Clone instances (drbd-x:0) count as the clone's."""
    lines = []
    for f in status.get("failures", []):
        rid = f.get("op_key", "").rsplit("_", 2)[0].split(":")[0]
        if rid != resource_id:
            continue
        reason = f", {f['exitreason']}" if f.get("exitreason") else ""
        lines.append(f"{f.get('task', '?')} on {f.get('node', '?')}: {f.get('status', '?')} "
                     f"(exit {f.get('exitcode', '?')} {f.get('exitstatus', '')}{reason})".replace(" )", ")"))
    return lines


def fence_successes(xml_text: str) -> dict[str, set[str]]:
    """When each node was successfully fenced, by the fencer's history (crm_mon's XML with
    --include=fencing-succeeded).  Completion times, not counts: a new fence is a time not seen
    before, which no operation listed twice can fake."""
    done: dict[str, set[str]] = {}
    for event in ET.fromstring(xml_text).iter("fence_event"):
        if event.get("status") == "success":
            done.setdefault(event.get("target"), set()).add(event.get("completed", ""))
    return done


_ASSIGN = re.compile(r"^pcmk__primitive_assign: (\S+) allocation score on (\S+): (\S+)$")
_PROMOTE = re.compile(r"^(\S+) promotion score on (\S+): (\S+)$")


def parse_scores(text: str) -> dict[str, dict[tuple[str, str], str]]:
    """The scheduler's scores as `crm_simulate -Ls` prints them: where each primitive may be
    placed ('assign', (resource, node) -> score) and each clone instance's promotion score
    ('promotion'); scores stay text ('-INFINITY', '10000')."""
    scores: dict[str, dict[tuple[str, str], str]] = {"assign": {}, "promotion": {}}
    for line in text.splitlines():
        if m := _ASSIGN.match(line.strip()):
            scores["assign"][(m[1], m[2])] = m[3]
        elif m := _PROMOTE.match(line.strip()):
            scores["promotion"][(m[1], m[2])] = m[3]
    return scores


def _score(text: str) -> float:
    return float(text.replace("INFINITY", "inf"))


def why_not_placed(scores: dict, handler_constraints: list[str], resource_id: str) -> list[str]:
    """What the scheduler's scores say of a resource that does not run: the nodes it may not be
    placed on (a negative score), the promotable clones that may be promoted nowhere (no instance
    with a positive promotion score), and DRBD fence-handler constraints in the CIB."""
    lines = []
    barred = [f"{node} {score}" for (rsc, node), score in sorted(scores["assign"].items())
              if rsc == resource_id and _score(score) < 0]
    if barred:
        lines.append(f"{resource_id} allocation score: {', '.join(barred)}")
    clones: dict[str, list[tuple[str, str, str]]] = {}
    for (instance, node), score in sorted(scores["promotion"].items()):
        clones.setdefault(instance.split(":")[0], []).append((instance, node, score))
    for clone, entries in clones.items():
        if all(_score(score) <= 0 for _i, _n, score in entries):
            shown = ", ".join(f"{instance} on {node} {score}" for instance, node, score in entries)
            lines.append(f"{clone} may be promoted nowhere (promotion score: {shown}; "
                         "the drbd agent gives one only to an UpToDate disk)")
    if handler_constraints:
        lines.append(f"DRBD fence-handler constraints in the CIB: {', '.join(handler_constraints)}")
    return lines


# DRBD's crm-fence-peer handler names its constraints drbd-fence-by-handler-<resource>-<clone>.
HANDLER_CONSTRAINT_PREFIX = "drbd-fence-by-handler-"


def handler_constraint_ids(constraints_xml: str) -> list[str]:
    """The ids of the constraints DRBD's crm-fence-peer handler added."""
    root = ET.fromstring(constraints_xml)
    return sorted(c.get("id") for c in root.iter() if (c.get("id") or "").startswith(HANDLER_CONSTRAINT_PREFIX))
