"""What a drill measured, read from what the hosts wrote: the client's samples and the clusters'
journals.  Pure functions over text, so they run on recorded logs in the unit tests."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from hastack.facts.status import healthy_on

# The client prints one line per try: "<epoch> sql=[<id or error>] ping= 1 0 1 1".
SAMPLE = re.compile(r"^(?P<ts>[0-9]+\.[0-9]+) sql=\[(?P<sql>[^\]]*)\] ping=(?P<ping>[ 01]*)$")
JOURNAL = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT[0-9:.]+[+-]\d{4}) (?P<host>\S+) (?P<tag>[^\[:]+)(\[\d+\])?: +(?P<text>.*)$")
EVENTS = (
    ("lost", re.compile(r"pacemaker-controld.*?Node (?P<node>\S+) state is now lost")),
    ("member", re.compile(r"pacemaker-controld.*?Node (?P<node>\S+) state is now member")),
    ("fenced", re.compile(r"Operation '(?P<op>reboot|off)' \[\d+\] targeting (?P<node>\S+) using (?P<device>\S+) "
                          r"returned (?P<rc>\d+)")),
    ("action", re.compile(r"Result of (?P<op>start|stop|promote|demote) operation for (?P<resource>\S+) on "
                          r"(?P<node>\S+): (?P<result>.+)$")),
    ("handler", re.compile(r"(?P<handler>crm-(?:un)?fence-peer\S*): INFO (?P<what>.+)$")),
)


@dataclass(frozen=True)
class Sample:
    ts: float
    row: int | None  # the id the INSERT returned: an acknowledged write
    error: str
    pings: tuple[bool, ...]


@dataclass(frozen=True)
class Event:
    ts: float
    layer: str
    host: str  # who logged it
    kind: str  # lost | member | fenced | action | handler
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def parse_samples(text: str) -> list[Sample]:
    out = []
    for line in text.splitlines():
        match = SAMPLE.match(line.strip())
        if not match:
            continue
        sql = match.group("sql").strip()
        row = int(sql) if sql.isdigit() else None
        out.append(Sample(float(match.group("ts")), row, "" if row is not None else sql or "no answer",
                          tuple(p == "1" for p in match.group("ping").split())))
    return out


def parse_journal(text: str, layer: str) -> list[Event]:
    """Pacemaker's and DRBD's handlers' lines (journalctl -o short-iso-precise) as events."""
    out = []
    for line in text.splitlines():
        match = JOURNAL.match(line)
        if not match:
            continue
        whole = f"{match.group('tag')}: {match.group('text')}"
        for kind, pattern in EVENTS:
            found = pattern.search(whole)
            if not found:
                continue
            g = found.groupdict()
            if kind == "fenced":
                detail = f"{g['op']} {g['node']} via {g['device']}: " + ("ok" if g["rc"] == "0" else f"failed rc={g['rc']}")
            elif kind == "action":
                detail = f"{g['op']} {g['resource']} on {g['node']}: {g['result']}"
            elif kind == "handler":
                detail = f"{g['handler']}: {g['what']}"
            else:
                detail = g["node"]
            ts = datetime.strptime(match.group("ts"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            out.append(Event(ts, layer, match.group("host").split(".", 1)[0], kind, detail))
            break
    return out


def merge_events(*lists: list[Event]) -> list[Event]:
    """One time line; the same event logged by two nodes (a fence both see) is kept once."""
    seen, out = set(), []
    for event in sorted((e for events in lists for e in events), key=lambda e: e.ts):
        key = (event.layer, event.kind, event.detail, round(event.ts))
        if key not in seen:
            seen.add(key)
            out.append(event)
    return out


@dataclass(frozen=True)
class Disruption:
    seconds: float  # last acknowledged write before the first failure -> first one after it
    failed_tries: int
    first_error: str


def sql_disruption(samples: list[Sample], t0: float) -> Disruption:
    """The client's view: the longest time between two acknowledged writes with failed tries
    between them, from the last acknowledged write before t0 on (0 when no try failed).  A try
    that hung counts as a failure too: the client waits at most its timeouts for each.  A write
    that slips through a flapping VIP does not end the outage: the longest gap is the figure."""
    after = [s for s in samples if s.ts >= t0]
    failed = [s for s in after if s.row is None]
    if not failed:
        return Disruption(0.0, 0, "")
    before = [s.ts for s in samples if s.ts < t0 and s.row is not None]
    last_ok, longest, failures = (before[-1] if before else t0), 0.0, 0
    for s in after:
        if s.row is None:
            failures += 1
        elif failures:
            longest, failures = max(longest, s.ts - last_ok), 0
        if s.row is not None:
            last_ok = s.ts
    if failures:  # not recovered by the end of the samples
        longest = max(longest, after[-1].ts - last_ok)
    return Disruption(round(longest, 1), len(failed), failed[0].error)


def failed_write_spans(samples: list[Sample]) -> list[tuple[float, float, int]]:
    """(from, to, failed tries) of each stretch without an acknowledged write: from the last
    acknowledged write before its first failed try to the next acknowledged one (or the last try,
    when none came), as `sql_disruption` measures them; epoch seconds."""
    spans, last_ok, failures = [], None, 0
    for s in samples:
        if s.row is None:
            failures += 1
            continue
        if failures:
            spans.append((last_ok if last_ok is not None else samples[0].ts, s.ts, failures))
        last_ok, failures = s.ts, 0
    if failures:
        spans.append((last_ok if last_ok is not None else samples[0].ts, samples[-1].ts, failures))
    return spans


def ping_windows(samples: list[Sample], index: int, t0: float) -> list[tuple[float, float]]:
    """(down from, back at) in seconds after t0, for the index-th pinged address."""
    windows, down = [], None
    for s in samples:
        if s.ts < t0 or index >= len(s.pings):
            continue
        if not s.pings[index] and down is None:
            down = s.ts
        elif s.pings[index] and down is not None:
            windows.append((round(down - t0, 1), round(s.ts - t0, 1)))
            down = None
    if down is not None:
        windows.append((round(down - t0, 1), float("inf")))
    return windows


def lost_rows(acknowledged: list[int], present: set[int]) -> list[int]:
    return sorted(set(acknowledged) - present)


def starts(events: list[Event], resource: str, t0: float) -> list[tuple[float, str]]:
    """(when, node) of each successful start of `resource` after t0; nodes by Pacemaker name."""
    prefix = f"start {resource} on "
    return [(e.ts, e.detail[len(prefix):].rsplit(":", 1)[0]) for e in events
            if e.ts >= t0 and e.kind == "action" and e.detail.startswith(prefix) and e.detail.endswith(": ok")]


def first_start(events: list[Event], resource: str, t0: float) -> str | None:
    """The node (Pacemaker name) where `resource` first started after t0, if it did."""
    found = starts(events, resource, t0)
    return found[0][1] if found else None


def vm_recovery(events: list[Event], vms: list[str], lost: str, survivor: str, t0: float) -> list[str]:
    """Where each VM that ran on the lost hypervisor ran again: failed over to the survivor, or
    only back on its own node once that rejoined (down for the whole outage of its host)."""
    rejoined = next((e.ts for e in events if e.ts >= t0 and e.kind == "member" and e.detail == lost), None)
    lines = []
    for vm in vms:
        started = starts(events, vm, t0)
        on_survivor = next((ts for ts, node in started if node == survivor), None)
        if on_survivor is not None:
            lines.append(f"{vm}: failed over to {survivor} at T+{on_survivor - t0:.0f}s")
        elif started:
            ts, node = started[0]
            back = f", after {lost} rejoined at T+{rejoined - t0:.0f}s" if rejoined is not None else ""
            lines.append(f"{vm}: not started on {survivor}; down until it started on {node} at T+{ts - t0:.0f}s{back}")
        else:
            lines.append(f"{vm}: not started again")
    return lines


def failover_done(guest_views: list[dict], hypervisor_views: list[dict], chain: list[str], vip: str,
                  samples: list[Sample], t0: float, evacuated: str | None = None, settle_s: float = 20,
                  owed_fences: set[str] = frozenset(), holder: str | None = None) -> bool:
    """The failure has played out, so the drill may undo its injection: the fences the seed saw
    have happened (`owed_fences` is empty), every answering node of both layers sees no node
    unclean, the guests agree where the chain runs (on `holder` where the seed's database moved)
    and it runs there, the client's latest write (after `settle_s`) was acknowledged, and a node
    put in standby (`evacuated`) runs nothing but fence devices.  No single sign is enough: until
    corosync declares a loss (token + consensus: 22 s on the lab) every view still looks healthy,
    and a guest cut off from its peer sees itself running the database until it is fenced.
    A view without quorum is not counted: the fenced side of a partition that is still cut when
    it boots (H2b) waits for all its peers and sees the survivor UNCLEAN, and can do nothing."""
    guest_views = [s for s in guest_views if s.get("quorate", True)]
    hypervisor_views = [s for s in hypervisor_views if s.get("quorate", True)]
    if not guest_views or not hypervisor_views or not samples or owed_fences:
        return False
    if samples[-1].row is None or samples[-1].ts < t0 + settle_s:
        return False
    for status in guest_views + hypervisor_views:
        if any(state["unclean"] for state in status["nodes"].values()):
            return False
        if evacuated and any(evacuated in i["nodes"] for instances in status["resources"].values()
                             for i in instances if i["active"] and not i["agent"].startswith("stonith:")):
            return False
    holders = set()
    for status in guest_views:
        if not all(healthy_on(status, rid) for rid in chain):
            return False
        holders.add(tuple(healthy_on(status, vip)))
    return len(holders) == 1 and (holder is None or holders == {(holder,)})
