"""check_pacemaker: a Nagios/NRPE plugin judging a cluster from `crm_mon --one-shot --output-as xml`.

This module is the plugin itself: hastack.render.nrpe renders it, as it is, into the script the
hosts run (python3 is on every host), so the code tested here is the code that runs there.  It
therefore imports nothing but the standard library.

What it reports (Nagios plugin exit codes):
- CRITICAL: no DC, no quorum, a node offline, unclean or pending, a resource stopped that should
  run (its target role is not Stopped), a resource failed or blocked, failed actions at or above
  the critical count;
- WARNING: failed actions at or above the warning count, a node in standby or maintenance, a
  resource unmanaged, the cluster in maintenance mode;
- UNKNOWN: crm_mon did not answer or its answer cannot be read.
One status line, then perfdata after `|`.

hastack.facts.status.parse_crm_mon reads where resources run for the providers; it drops what
this needs (quorum, target roles, blocked and unmanaged resources) and it is not stdlib-only
host code, so this parser is its own.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
# The exact command line the sudoers rule permits (no "=": sudoers would need it escaped).
CRM_MON_ARGV = ("sudo", "-n", "/usr/sbin/crm_mon", "--one-shot", "--output-as", "xml")
TIMEOUT_S = 20  # under NRPE's own command_timeout (60 s)


@dataclass(frozen=True)
class Resource:
    id: str
    role: str
    target_role: str | None
    active: bool
    failed: bool
    blocked: bool
    managed: bool
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Node:
    name: str
    online: bool
    standby: bool
    maintenance: bool
    unclean: bool
    pending: bool


@dataclass(frozen=True)
class Health:
    dc: bool
    quorum: bool
    maintenance_mode: bool
    nodes: tuple[Node, ...]
    resources: tuple[Resource, ...]  # primitives; a clone's instances each appear once
    failures: tuple[dict, ...] = field(default=())


def _true(element: ET.Element, name: str) -> bool:
    return element.get(name) == "true"


def _primitives(parent: ET.Element | None, inherited: str | None):
    """(primitive, its target role): a group's, clone's or bundle's target role holds for what is
    inside it unless the primitive sets its own."""
    for child in (parent if parent is not None else ()):
        target_role = child.get("target_role") or inherited
        if child.tag == "resource":
            yield child, target_role
        else:
            yield from _primitives(child, target_role)


def parse_crm_mon_health(xml_text: str) -> Health:
    """The parts of crm_mon's XML the check judges.  Raises ValueError on anything but a result."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise ValueError(f"crm_mon output is not XML ({error})") from None
    summary = root.find("summary")
    if root.tag != "pacemaker-result" or summary is None:
        status = root.find("status")
        why = status.get("message") if status is not None else f"<{root.tag}> without a summary"
        raise ValueError(f"crm_mon gave no cluster status: {why}")
    dc = summary.find("current_dc")
    options = summary.find("cluster_options")
    nodes = tuple(
        Node(n.get("name", "?"), _true(n, "online"), _true(n, "standby"), _true(n, "maintenance"),
             _true(n, "unclean"), _true(n, "pending"))
        for n in root.findall("./nodes/node"))
    section = root.find("resources")
    resources = tuple(
        Resource(r.get("id", "?"), r.get("role", "?"), target_role, _true(r, "active"),
                 _true(r, "failed"), _true(r, "blocked"), r.get("managed") != "false",
                 tuple(n.get("name", "?") for n in r.findall("node")))
        for r, target_role in _primitives(section, None))
    failures = tuple(dict(f.attrib) for f in root.findall("./failures/failure"))
    return Health(
        dc=dc is not None and _true(dc, "present"),
        quorum=dc is not None and _true(dc, "with_quorum"),
        maintenance_mode=options is not None and _true(options, "maintenance-mode"),
        nodes=nodes, resources=resources, failures=failures)


def _failure_text(f: dict) -> str:
    rid = f.get("op_key", "?").rsplit("_", 2)[0]
    return f"{rid} {f.get('task', '?')} on {f.get('node', '?')} ({f.get('exitstatus') or f.get('status', '?')})"


def _names(items) -> str:
    items = list(dict.fromkeys(items))
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def judge(health: Health, failed_warning: int = 1, failed_critical: int | None = None) -> tuple[int, str]:
    """(exit code, status line with perfdata)."""
    critical, warning = [], []
    if not health.dc:
        critical.append("no DC elected")
    elif not health.quorum:
        critical.append("no quorum")
    offline = [n.name for n in health.nodes if not n.online]
    unclean = [n.name for n in health.nodes if n.unclean]
    pending = [n.name for n in health.nodes if n.pending]
    for label, names in (("offline", offline), ("unclean", unclean), ("pending", pending)):
        if names:
            critical.append(f"{label}: {_names(names)}")
    stopped = [r.id for r in health.resources if not r.active and r.target_role != "Stopped"]
    failed = [r.id for r in health.resources if r.failed]
    blocked = [r.id for r in health.resources if r.blocked]
    for label, names in (("stopped", stopped), ("failed", failed), ("blocked", blocked)):
        if names:
            critical.append(f"{label}: {_names(names)}")
    count = len(health.failures)
    if count:
        text = f"{count} failed action{'s' if count > 1 else ''}: {_names(_failure_text(f) for f in health.failures)}"
        if failed_critical is not None and count >= failed_critical:
            critical.append(text)
        elif count >= failed_warning:
            warning.append(text)
    if health.maintenance_mode:
        warning.append("maintenance mode")
    for label, names in (("standby", [n.name for n in health.nodes if n.standby]),
                         ("node maintenance", [n.name for n in health.nodes if n.maintenance]),
                         ("unmanaged", [r.id for r in health.resources if not r.managed])):
        if names:
            warning.append(f"{label}: {_names(names)}")
    code = CRITICAL if critical else WARNING if warning else OK
    online = len(health.nodes) - len(offline)
    started = sum(1 for r in health.resources if r.active)
    problems = "; ".join(critical + warning)
    summary = problems or (f"{online}/{len(health.nodes)} nodes online, quorum, "
                           f"{started} resource instances active, no failed actions")
    perfdata = (f"nodes_online={online};;;0;{len(health.nodes)} resources_active={started};;;0;{len(health.resources)} "
                f"resources_stopped={len(stopped)};;1;0 failed_actions={count};{failed_warning};"
                f"{'' if failed_critical is None else failed_critical};0")
    return code, f"PACEMAKER {STATE_NAMES[code]} - {summary} | {perfdata}"


def run(argv=None, crm_mon=None) -> tuple[int, str]:
    """The plugin: ask crm_mon (through the exact sudo rule), judge, never raise."""
    parser = argparse.ArgumentParser(prog="check_pacemaker", description="Nagios plugin: Pacemaker cluster health")
    parser.add_argument("-w", "--failed-warning", type=int, default=1, help="failed actions for WARNING")
    parser.add_argument("-c", "--failed-critical", type=int, default=None, help="failed actions for CRITICAL")
    args = parser.parse_args(argv)
    try:
        if crm_mon is None:
            done = subprocess.run(CRM_MON_ARGV, capture_output=True, text=True, timeout=TIMEOUT_S)
            if done.returncode != 0 and "<pacemaker-result" not in done.stdout:
                why = " ".join((done.stderr or done.stdout).split())[:300] or f"exit {done.returncode}"
                return UNKNOWN, f"PACEMAKER UNKNOWN - crm_mon failed: {why}"
            crm_mon = done.stdout
        return judge(parse_crm_mon_health(crm_mon), args.failed_warning, args.failed_critical)
    except subprocess.TimeoutExpired:
        return UNKNOWN, f"PACEMAKER UNKNOWN - crm_mon did not answer within {TIMEOUT_S} s"
    except (OSError, ValueError) as error:
        return UNKNOWN, f"PACEMAKER UNKNOWN - {' '.join(str(error).split())[:300]}"


def main(argv=None) -> int:
    code, line = run(argv)
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
