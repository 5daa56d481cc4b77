"""A drill's time line as a picture: both clusters' events on one time axis, the client's failed
writes as a band, each host's ping, and the seed's SQL figure as a marker.

`render_timeline_svg` is a pure function from one result as drill.json holds it to SVG text,
written by hand (no plotting library: the picture is lanes, marks and text), so a recorded run
redraws the same and the tests read the picture's structure back."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from hastack.drill import timeline
from hastack.drill.scenarios import SCENARIOS

LEFT, AXIS_W, RIGHT = 130, 1100, 20  # px: lane names, the time axis, a margin
FONT, CHAR_W = 10, 6.0  # label size and a generous width per character, to keep labels apart
ROW_H, MARK_Y = 12, 9  # an event lane: marks on one line, their labels in rows below it
PING_H, CLIENT_H, GAP = 18, 30, 3
TICK_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
FAILED = "#d62728"

# Marker kinds: (legend text, colour); the shape is drawn by _mark.
KINDS = {
    "fenced": ("fence succeeded", "#b2182b"),
    "fence-failed": ("fence failed", "#f4a582"),
    "lost": ("node lost", "#e66101"),
    "member": ("node member", "#1a9641"),
    "promote": ("promote", "#7b3294"),
    "demote": ("demote", "#7b3294"),
    "start": ("start", "#2166ac"),
    "stop": ("stop", "#4d4d4d"),
    "placed": ("DRBD fence-handler constraint placed", "#01665e"),
    "removed": ("fence-handler constraint removed", "#01665e"),
    "other": ("other", "#999999"),
}
HOLLOW = {"demote", "removed", "fence-failed", "other"}
CONSTRAINT = re.compile(r"(?P<verb>placed|Removed) constraint '(?:drbd-fence-by-handler-)?(?P<name>[^']+)'")


def _short(node: str) -> str:
    return node.split(".", 1)[0]


def mark_of(event: dict) -> tuple[str, str]:
    """The marker kind and the short label of one event; the full line goes into its tooltip."""
    kind, detail, host = event["kind"], event["detail"], event["host"]
    if kind in ("lost", "member"):
        return kind, f"{kind} {_short(detail)}"
    if kind == "fenced":
        ok = detail.endswith(": ok")
        return ("fenced" if ok else "fence-failed"), f"fence {_short(detail.split()[1])}" + ("" if ok else " failed")
    if kind == "action":
        match = re.match(r"(?P<op>\S+) (?P<resource>\S+) on (?P<node>\S+): (?P<result>.+)$", detail)
        if match:
            where = "" if _short(match["node"]) == host else f" on {_short(match['node'])}"
            failed = "" if match["result"] == "ok" else f" {match['result']}"
            return match["op"], f"{match['op']} {match['resource']}{where}{failed}"
    if kind == "handler":
        match = CONSTRAINT.search(detail)
        if match:  # 'drbd-fence-by-handler-<resource>-<its clone>': the resource names it
            name = match["name"].split("-drbd-", 1)[0]
            return ("placed" if match["verb"] == "placed" else "removed"), f"{match['verb'].lower()} {name}"
        return "placed", detail.split(":", 1)[0]
    return "other", f"{kind} {detail}"[:30]


def _f(value: float) -> str:
    return f"{value:.1f}"


def _s(value: float) -> str:
    """A time for a data attribute: seconds after T0, or inf."""
    return "inf" if value == math.inf else f"{value:.1f}"


def _mark(kind: str, x: float, y: float) -> str:
    colour = KINDS[kind][1]
    paint = f'fill="white" stroke="{colour}" stroke-width="1.5"' if kind in HOLLOW else f'fill="{colour}"'
    if kind in ("fenced", "fence-failed"):  # a cross: the node was shot
        return (f'<path d="M{_f(x - 5)},{_f(y - 5)} L{_f(x + 5)},{_f(y + 5)} M{_f(x - 5)},{_f(y + 5)} '
                f'L{_f(x + 5)},{_f(y - 5)}" stroke="{colour}" stroke-width="3" fill="none"/>')
    if kind == "lost":  # down
        return f'<path d="M{_f(x - 5)},{_f(y - 4)} L{_f(x + 5)},{_f(y - 4)} L{_f(x)},{_f(y + 5)} Z" {paint}/>'
    if kind == "member":  # up
        return f'<path d="M{_f(x - 5)},{_f(y + 4)} L{_f(x + 5)},{_f(y + 4)} L{_f(x)},{_f(y - 5)} Z" {paint}/>'
    if kind in ("promote", "demote"):
        return (f'<path d="M{_f(x)},{_f(y - 5)} L{_f(x + 5)},{_f(y)} L{_f(x)},{_f(y + 5)} L{_f(x - 5)},{_f(y)} Z" '
                f'{paint}/>')
    if kind in ("start", "other"):
        return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4" {paint}/>'
    if kind == "stop":
        return f'<rect x="{_f(x - 4)}" y="{_f(y - 4)}" width="8" height="8" {paint}/>'
    return f'<rect x="{_f(x - 2)}" y="{_f(y - 6)}" width="4" height="12" {paint}/>'  # a handler's constraint


def _lanes(result: dict) -> list[tuple[str, str]]:
    """(layer, host) per event lane: the hosts the roles name first, then any other that logged."""
    roles = result.get("roles") or {}
    lanes = []
    for layer, keys in (("hypervisor", ("hv0", "hv1")), ("guest", ("guest0", "guest1"))):
        named = [_short(roles[k]) for k in keys if k in roles]
        others = sorted({e["host"] for e in result["events"] if e["layer"] == layer} - set(named))
        lanes += [(layer, host) for host in named + others]
    return lanes


def _label_rows(marks: list[tuple[float, str]], right: float) -> list[tuple[float, float, int]]:
    """Each label's start x and row: the first row where it does not touch the label before it."""
    ends, placed = [], []
    for x, text in marks:
        width = len(text) * CHAR_W
        start = min(x + 2, right - width)
        row = next((i for i, end in enumerate(ends) if start >= end + 4), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = start + width
        placed.append((start, x, row))
    return placed


@dataclass(frozen=True)
class Axis:
    """Seconds after T0 to x, over what the run recorded (and the seed's figure), padded a little."""

    lo: float
    hi: float

    @classmethod
    def spanning(cls, times: list[float]) -> Axis:
        lo, hi = min(times), max(times)
        pad = max(5.0, (hi - lo) * 0.02)
        return cls(lo - pad, hi + pad)

    def x(self, t: float) -> float:
        return LEFT + (min(t, self.hi) - self.lo) * AXIS_W / (self.hi - self.lo)

    def ticks(self) -> list[float]:
        step = next((s for s in TICK_STEPS if (self.hi - self.lo) / s <= 12), TICK_STEPS[-1])
        return [t * step for t in range(math.ceil(self.lo / step), math.floor(self.hi / step) + 1)]


def _event_lane(axis: Axis, layer: str, host: str, events: list[dict], t0: float,
                y: float) -> tuple[str, list[str], float]:
    """The lane's ground (drawn under the failed-write band), its marks and labels, its height."""
    marks = [(e, *mark_of(e)) for e in events]
    rows = _label_rows([(axis.x(e["ts"] - t0), label) for e, _k, label in marks], LEFT + AXIS_W)
    height = MARK_Y + 8 + ROW_H * (max((row for _s, _x, row in rows), default=-1) + 1) + 4
    shade = "#f2f2f2" if layer == "hypervisor" else "#eef4fb"
    ground = f'<rect class="ground" x="{LEFT}" y="{y}" width="{AXIS_W}" height="{height}" fill="{shade}"/>'
    out = [f'<g class="lane" data-layer="{layer}" data-host={quoteattr(host)}>',
           f'<text x="{LEFT - 6}" y="{y + MARK_Y + 4}" text-anchor="end" class="name">{layer} {escape(host)}</text>']
    for (event, kind, label), (start, x, row) in zip(marks, rows):
        baseline = y + MARK_Y + 8 + ROW_H * row + FONT - 1
        at = event["ts"] - t0
        tooltip = f"T{at:+.1f}s {layer} {host}: {event['kind']}: {event['detail']}"
        out.append(f'<g class="event" data-kind="{kind}" data-at-s="{_s(at)}"><title>{escape(tooltip)}</title>'
                   f'<line x1="{_f(x)}" y1="{y + MARK_Y}" x2="{_f(x)}" y2="{_f(baseline - FONT + 2)}" class="leader"/>'
                   f'{_mark(kind, x, y + MARK_Y)}<text x="{_f(start)}" y="{_f(baseline)}" class="label">'
                   f'{escape(label)}</text></g>')
    out.append("</g>")
    return ground, out, height


def _ping_lane(axis: Axis, host: str, windows: list, last_sample: float, y: float) -> tuple[list[str], float]:
    mid = y + PING_H / 2
    out = [f'<g class="lane ping" data-host={quoteattr(host)}>',
           f'<text x="{LEFT - 6}" y="{_f(mid + 4)}" text-anchor="end" class="name">ping {escape(host)}</text>',
           f'<line x1="{_f(axis.x(0))}" y1="{_f(mid)}" x2="{_f(axis.x(last_sample))}" y2="{_f(mid)}" class="ping-up"/>']
    for down, back in windows:
        x0, x1 = axis.x(down), axis.x(min(back, last_sample))  # not back: down until the client stopped
        text = "not back" if back == math.inf else f"down {back - down:.0f} s"
        out.append(f'<rect class="ping-down" data-from-s="{_s(down)}" data-to-s="{_s(back)}" x="{_f(x0)}" '
                   f'y="{y + 2}" width="{_f(max(x1 - x0, 1))}" height="{PING_H - 4}"/>')
        if len(text) * CHAR_W < x1 - x0:
            out.append(f'<text x="{_f(x0 + 3)}" y="{_f(mid + 3.5)}" class="label on-band">{text}</text>')
    out.append("</g>")
    return out, PING_H


def _client_lane(axis: Axis, samples: list[timeline.Sample], spans: list, measured, seconds: float | None,
                 t0: float, y: float) -> tuple[list[str], float]:
    mid = y + CLIENT_H / 2
    out = ['<g class="lane client">',
           f'<text x="{LEFT - 6}" y="{_f(mid + 4)}" text-anchor="end" class="name">client INSERTs</text>']
    for span in spans:
        a, b, _n = span
        out.append(f'<rect class="failed-writes-lane{" measured" if span == measured else ""}" x="{_f(axis.x(a))}" '
                   f'y="{y + 2}" width="{_f(axis.x(b) - axis.x(a))}" height="{CLIENT_H - 4}"/>')
    for s in samples:
        out.append(f'<circle cx="{_f(axis.x(s.ts - t0))}" cy="{_f(mid)}" r="1.8" '
                   f'class="{"write-ok" if s.row is not None else "write-failed"}"/>')
    if measured:
        text = f"no write acknowledged: {measured[1] - measured[0] if seconds is None else seconds:.1f} s"
        start = min(axis.x(measured[0]) + 3, LEFT + AXIS_W - len(text) * CHAR_W)
        out.append(f'<text x="{_f(start)}" y="{y + 11}" class="label strong">{text}</text>')
    out.append("</g>")
    return out, CLIENT_H


def _legend(kinds: set[str], y: float) -> tuple[list[str], float]:
    """The marker kinds this picture shows, then the band, the pings and the seed's marker."""
    out, x = [], LEFT
    entries = [(kind, text) for kind, (text, _c) in KINDS.items() if kind in kinds]
    entries += [("band", "no write acknowledged"), ("ping", "ping down"), ("seed", "the seed's figure")]
    for kind, text in entries:
        width = 18 + len(text) * CHAR_W + 14
        if x + width > LEFT + AXIS_W:
            x, y = LEFT, y + 16
        if kind == "band":
            sample = f'<rect x="{_f(x - 5)}" y="{y - 6}" width="10" height="12" class="failed-writes"/>'
        elif kind == "ping":
            sample = f'<rect x="{_f(x - 5)}" y="{y - 5}" width="10" height="10" class="ping-down"/>'
        elif kind == "seed":
            sample = f'<line x1="{_f(x)}" y1="{y - 6}" x2="{_f(x)}" y2="{y + 6}" class="seed-line"/>'
        else:
            sample = _mark(kind, x, y)
        out.append(f'<g class="legend-entry" data-kind="{kind}">{sample}<text x="{_f(x + 10)}" y="{y + 3.5}">'
                   f'{escape(text)}</text></g>')
        x += width
    return out, y


STYLE = ("<style>"
         ".name{font-size:11px;fill:#222}.label{fill:#222;paint-order:stroke;stroke:white;stroke-width:3px}"
         ".label.strong{font-weight:bold;fill:#8b0000}.label.on-band{stroke:none;fill:white}"
         ".leader{stroke:#999;stroke-width:0.6}.ping-up{stroke:#1a9641;stroke-width:2}"
         f".ping-down{{fill:{FAILED};opacity:0.8}}"
         f".failed-writes{{fill:{FAILED};opacity:0.08}}.failed-writes.measured{{opacity:0.18}}"
         f".failed-writes-lane{{fill:{FAILED};opacity:0.3}}.failed-writes-lane.measured{{opacity:0.5}}"
         f".write-ok{{fill:#1a9641}}.write-failed{{fill:{FAILED}}}"
         ".axis,.tick line{stroke:#222}.t0 line{stroke:#222;stroke-width:1.5}"
         ".seed-marker line,.seed-line{stroke:#1f4e9e;stroke-width:1.5;stroke-dasharray:5 3}"
         ".seed-marker path{fill:#1f4e9e}.seed-marker text{fill:#1f4e9e;font-weight:bold}"
         "</style>")


def render_timeline_svg(result: dict) -> str:
    """One drill result (a drill.json entry) as an SVG picture."""
    t0 = result["t0"]
    events = sorted(result["events"], key=lambda e: e["ts"])
    samples = [timeline.Sample(s["ts"], s["row"], s["error"], tuple(s["pings"])) for s in result["samples"]]
    scenario = SCENARIOS.get(result["scenario"])
    seed_s = scenario.seed.sql_s if scenario else None
    sql = result.get("sql") or {}
    axis = Axis.spanning([0.0] + [e["ts"] - t0 for e in events] + [s.ts - t0 for s in samples]
                         + ([seed_s] if seed_s is not None else []))

    grounds, body, y = [], [], 64
    lanes_top = y
    for layer, host in _lanes(result):
        mine = [e for e in events if (e["layer"], e["host"]) == (layer, host)]
        ground, lane, height = _event_lane(axis, layer, host, mine, t0, y)
        grounds.append(ground)
        body += lane
        y += height + GAP
    last_sample = samples[-1].ts - t0 if samples else 0.0
    for host, windows in (result.get("pings") or {}).items():
        lane, height = _ping_lane(axis, host, windows, last_sample, y)
        body += lane
        y += height + GAP
    spans = [(a - t0, b - t0, n) for a, b, n in timeline.failed_write_spans(samples)]
    after = [span for span in spans if span[1] >= 0]
    measured = max(after, key=lambda span: span[1] - span[0]) if after else None  # what sql_disruption reports
    lane, height = _client_lane(axis, samples, spans, measured, sql.get("seconds"), t0, y)
    body += lane
    lanes_bottom = y + height

    # Under the marks, over the lanes' grounds: the failed writes across every lane, so what
    # happened meanwhile lines up.
    behind = [f'<rect class="failed-writes{" measured" if span == measured else ""}" data-from-s="{_s(span[0])}" '
              f'data-to-s="{_s(span[1])}" data-tries="{span[2]}" x="{_f(axis.x(span[0]))}" y="{lanes_top}" '
              f'width="{_f(axis.x(span[1]) - axis.x(span[0]))}" height="{lanes_bottom - lanes_top}"/>'
              for span in spans]

    axis_y = lanes_bottom + 6
    over = [f'<line class="axis" x1="{LEFT}" y1="{axis_y}" x2="{LEFT + AXIS_W}" y2="{axis_y}"/>']
    for t in axis.ticks():
        x = axis.x(t)
        over.append(f'<g class="tick" data-at-s="{_s(t)}"><line x1="{_f(x)}" y1="{axis_y}" x2="{_f(x)}" '
                    f'y2="{axis_y + 4}"/><text x="{_f(x)}" y="{axis_y + 15}" text-anchor="middle">'
                    f'{"T0" if t == 0 else f"{t:+.0f} s"}</text></g>')
    x0 = axis.x(0)
    inject = f" ({scenario.inject})" if scenario else ""
    t0_text = f"T0: failure injected{inject}"
    # Left of the line, unless it would run off the picture's left edge (T0 sits near it).
    t0_label = (f'x="{_f(x0 - 3)}" text-anchor="end"' if x0 - 3 - len(t0_text) * CHAR_W >= 0
                else f'x="{_f(x0 + 3)}" text-anchor="start"')
    over.append(f'<g class="t0"><line x1="{_f(x0)}" y1="{lanes_top - 10}" x2="{_f(x0)}" y2="{axis_y}"/>'
                f'<text {t0_label} y="{lanes_top - 13}">{escape(t0_text)}</text></g>')
    if seed_s is not None:  # where the seed's client wrote again; T0 and the label sit on opposite sides
        xs = axis.x(seed_s)
        over.append(f'<g class="seed-marker" data-at-s="{_s(seed_s)}"><line x1="{_f(xs)}" y1="{lanes_top - 10}" '
                    f'x2="{_f(xs)}" y2="{axis_y}"/><path d="M{_f(xs)},{axis_y} L{_f(xs - 5)},{axis_y + 8} '
                    f'L{_f(xs + 5)},{axis_y + 8} Z"/><text x="{_f(xs + 3)}" y="{lanes_top - 3}">'
                    f'seed: SQL back at T+{seed_s:.0f} s</text></g>')
    legend, legend_y = _legend({mark_of(e)[0] for e in events}, axis_y + 34)

    fenced = ", ".join(sorted(_short(f.split(": ", 1)[-1]) for f in result.get("fenced") or [])) or "none"
    recovered = result.get("recovered_s")
    subtitle = " · ".join(filter(None, [
        (f"SQL disruption here {sql['seconds']:.1f} s ({sql.get('failed_tries', 0)} failed tries)" if sql else
         "SQL disruption not measured") + (f", in the seed {seed_s:.0f} s" if seed_s is not None else ""),
        f"fenced here: {fenced}" + (f" (seed: {scenario.seed.fenced})" if scenario else ""),
        f"full redundancy after {recovered:.0f} s" if recovered is not None else "not back at full redundancy",
    ]))
    width, height = LEFT + AXIS_W + RIGHT, legend_y + 14
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="{FONT}">',
        STYLE,
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="15" font-weight="bold">'
        f'{escape(result["scenario"])}: {escape(result.get("title", ""))}</text>',
        f'<text x="{LEFT}" y="38" font-size="12">{escape(subtitle)}</text>',
        *grounds, *behind, *body, *over, *legend,
        "</svg>",
    ]) + "\n"


def timeline_name(scenario: str) -> str:
    """The picture's file name beside report.md, which links it."""
    return f"{scenario}.svg"


def write_timelines(out: Path, results: list[dict]) -> list[Path]:
    paths = []
    for result in results:
        path = out / timeline_name(result["scenario"])
        path.write_text(render_timeline_svg(result))
        paths.append(path)
    return paths
