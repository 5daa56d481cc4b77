"""The drill's timeline picture, read back from its SVG: drawn from the lab's recorded H3 (node1
powered off through its BMC) and A2a (pg1's ring links cut) as their drill.json holds them."""
from __future__ import annotations

import copy
import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hastack.drill import timeline  # noqa: E402
from hastack.drill.plot import CHAR_W, mark_of, render_timeline_svg  # noqa: E402

DATA = Path(__file__).parent / "data" / "drill-live"
SVG = "{http://www.w3.org/2000/svg}"


def recorded(scenario: str) -> dict:
    (result,) = json.loads((DATA / f"{scenario}.json").read_text())
    return result


def draw(result: dict) -> ET.Element:
    return ET.fromstring(render_timeline_svg(result).split("\n", 1)[1])  # after the XML declaration


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def find(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if cls in classes(e)]


def bands(root: ET.Element) -> list[ET.Element]:
    return [r for r in find(root, "rect", "failed-writes") if r.get("data-from-s")]  # not the legend's


def axis(root: ET.Element) -> tuple[float, float]:
    """(x of T0, px per second), read from the axis's own ticks."""
    ticks = [(float(g.get("data-at-s")), float(g.find(SVG + "line").get("x1"))) for g in find(root, "g", "tick")]
    (t_a, x_a), (t_b, x_b) = ticks[0], ticks[-1]
    scale = (x_b - x_a) / (t_b - t_a)
    return x_a - t_a * scale, scale


def samples_of(result: dict) -> list[timeline.Sample]:
    return [timeline.Sample(s["ts"], s["row"], s["error"], tuple(s["pings"])) for s in result["samples"]]


@pytest.mark.parametrize("scenario", ["H3", "A2a"])
def test_the_failed_write_spans_are_what_the_disruption_measures(scenario):
    result = recorded(scenario)
    samples, t0 = samples_of(result), result["t0"]
    after = [(a, b) for a, b, _n in timeline.failed_write_spans(samples) if b >= t0]
    assert round(max(b - a for a, b in after), 1) == timeline.sql_disruption(samples, t0).seconds
    assert sum(n for _a, _b, n in timeline.failed_write_spans(samples)) == sum(s.row is None for s in samples)


def test_the_picture_is_svg_with_one_lane_per_layer_and_host_and_a_ping_lane_per_host():
    result = recorded("H3")
    text = render_timeline_svg(result)
    assert text.startswith('<?xml version="1.0"')
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.tag == SVG + "svg"
    lanes = [(g.get("data-layer"), g.get("data-host")) for g in find(root, "g", "lane") if "ping" not in classes(g)
             and "client" not in classes(g)]
    assert lanes == [("hypervisor", "node1"), ("hypervisor", "node2"), ("guest", "pg1"), ("guest", "pg2")]
    assert [g.get("data-host") for g in find(root, "g", "ping")] == ["pg1", "pg2", "node1", "node2"]
    assert len(find(root, "g", "client")) == 1
    # Every event is drawn once, in the lane of the host that logged it, at its time.
    for g in find(root, "g", "lane"):
        if g.get("data-layer"):
            mine = [e for e in result["events"] if (e["layer"], e["host"]) == (g.get("data-layer"), g.get("data-host"))]
            drawn = [float(e.get("data-at-s")) for e in g.iter(SVG + "g") if "event" in classes(e)]
            assert drawn == [round(e["ts"] - result["t0"], 1) for e in mine]
    kinds = {e.get("data-kind") for e in find(root, "g", "event")}
    assert kinds == {"fenced", "lost", "member", "promote", "demote", "start", "stop", "placed", "removed"}
    # The legend names every kind a marker can have.
    assert kinds <= {g.get("data-kind") for g in find(root, "g", "legend-entry")}


@pytest.mark.parametrize("scenario", ["H3", "A2a"])
def test_the_band_spans_the_measured_disruption_and_the_seed_marker_sits_at_its_figure(scenario):
    result = recorded(scenario)
    root = draw(result)
    x0, scale = axis(root)
    (band,) = [r for r in bands(root) if "measured" in classes(r)]
    start, end = float(band.get("data-from-s")), float(band.get("data-to-s"))
    assert end - start == pytest.approx(result["sql"]["seconds"], abs=0.11)
    assert float(band.get("x")) == pytest.approx(x0 + start * scale, abs=0.2)
    assert float(band.get("width")) == pytest.approx((end - start) * scale, abs=0.2)
    seed = {"H3": 35, "A2a": 9}[scenario]
    (marker,) = find(root, "g", "seed-marker")
    assert float(marker.get("data-at-s")) == seed
    assert float(marker.find(SVG + "line").get("x1")) == pytest.approx(x0 + seed * scale, abs=0.2)
    assert f"seed: SQL back at T+{seed} s" in "".join(marker.itertext())
    assert f"SQL disruption here {result['sql']['seconds']:.1f} s" in "".join(root.itertext())
    # Every failed-write span is drawn, and only those.
    spans = timeline.failed_write_spans(samples_of(result))
    assert len(bands(root)) == len(spans)


def test_ping_down_windows_are_drawn_per_host_and_one_not_back_runs_to_the_end():
    result = recorded("H3")
    root = draw(result)
    by_host = {g.get("data-host"): [(r.get("data-from-s"), r.get("data-to-s")) for r in g.iter(SVG + "rect")]
               for g in find(root, "g", "ping")}
    assert by_host == {"pg1": [("0.5", "294.0"), ("588.3", "738.4")], "pg2": [], "node1": [("0.5", "152.9")],
                       "node2": []}
    unrecovered = copy.deepcopy(result)
    unrecovered["pings"]["node1"] = [[0.5, math.inf]]
    root = draw(json.loads(json.dumps(unrecovered)))  # drill.json writes Infinity
    (node1,) = [g for g in find(root, "g", "ping") if g.get("data-host") == "node1"]
    (down,) = node1.iter(SVG + "rect")
    assert down.get("data-to-s") == "inf" and "not back" in "".join(node1.itertext())
    x0, scale = axis(root)
    last = result["samples"][-1]["ts"] - result["t0"]
    assert float(down.get("x")) + float(down.get("width")) == pytest.approx(x0 + last * scale, abs=0.2)


def test_labels_in_one_row_of_a_lane_never_overlap():
    root = draw(recorded("H3"))
    for lane in find(root, "g", "lane"):
        rows: dict[str, list[tuple[float, float]]] = {}
        for text in lane.iter(SVG + "text"):
            if "label" in classes(text) and "on-band" not in classes(text):
                start = float(text.get("x"))
                rows.setdefault(text.get("y"), []).append((start, start + len(text.text) * CHAR_W))
        for spans in rows.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_without_failures_or_a_known_scenario_the_picture_still_draws():
    result = recorded("A2a")
    result.update(scenario="X1", sql={"seconds": 0.0, "failed_tries": 0, "first_error": ""},
                  samples=[s | {"row": i + 1, "error": ""} for i, s in enumerate(result["samples"])])
    root = draw(result)
    assert not bands(root) and not find(root, "g", "seed-marker")
    assert find(root, "g", "t0")


@pytest.mark.parametrize("event, expected", [
    ({"kind": "lost", "host": "pg2", "detail": "pg1.hastack-lab.internal"}, ("lost", "lost pg1")),
    ({"kind": "member", "host": "node1", "detail": "node2.hastack-lab.internal"}, ("member", "member node2")),
    ({"kind": "fenced", "host": "node2", "detail": "reboot node1.hastack-lab.internal via fence-node1: ok"},
     ("fenced", "fence node1")),
    ({"kind": "fenced", "host": "pg2", "detail": "reboot pg1.hastack-lab.internal via fence-pg1: failed rc=1"},
     ("fence-failed", "fence pg1 failed")),
    ({"kind": "action", "host": "pg2", "detail": "start pgvip on pg2.hastack-lab.internal: ok"},
     ("start", "start pgvip")),
    ({"kind": "action", "host": "node1", "detail": "promote drbd-pg1 on node2.hastack-lab.internal: error"},
     ("promote", "promote drbd-pg1 on node2 error")),
    ({"kind": "handler", "host": "node2", "detail": "crm-fence-peer.sh: peer is fenced, my disk is UpToDate: "
      "placed constraint 'drbd-fence-by-handler-pg1-drbd-pg1-clone'"}, ("placed", "placed pg1")),
    ({"kind": "handler", "host": "node1", "detail": "crm-unfence-peer.sh: Removed constraint "
      "'drbd-fence-by-handler-pgdata-drbd-pgdata-clone'"}, ("removed", "removed pgdata")),
])
def test_each_event_gets_its_marker_and_a_short_label(event, expected):
    assert mark_of(event) == expected


def as_result(data: dict):
    """A recorded drill.json entry back as the drill's own Result."""
    from hastack.drill.run import Result

    return Result(data["scenario"], data["title"], data["roles"], t0=data["t0"], recovered_s=data["recovered_s"],
                  sql=timeline.Disruption(**data["sql"]), pings=data["pings"], fenced=data["fenced"],
                  events=[timeline.Event(**e) for e in data["events"]],
                  samples=[timeline.Sample(s["ts"], s["row"], s["error"], tuple(s["pings"])) for s in data["samples"]],
                  acknowledged=data["acknowledged"], lost=data["lost"], failed_actions=data["failed_actions"],
                  checks=[(c["what"], c["ok"], c["detail"]) for c in data["checks"]], predicted=data["predicted"],
                  findings=data.get("findings", []))  # recorded before findings existed


def test_the_drill_writes_each_scenarios_picture_beside_the_report_which_links_it(tmp_path):
    from hastack.drill.run import write

    results = [as_result(recorded("H3")), as_result(recorded("A2a"))]
    write(tmp_path, results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A2a.svg", "H3.svg", "drill.json", "report.md"]
    report = (tmp_path / "report.md").read_text()
    assert "](H3.svg)" in report and "](A2a.svg)" in report
    # Redrawn from drill.json, the picture is the one the drill wrote.
    for data in json.loads((tmp_path / "drill.json").read_text()):
        assert render_timeline_svg(data) == (tmp_path / f"{data['scenario']}.svg").read_text()


def test_a_result_with_nothing_recorded_still_draws():
    empty = {"scenario": "H3", "title": "BMC power-off", "roles": {}, "t0": 1796153785.6, "recovered_s": None,
             "sql": None, "pings": {}, "fenced": [], "events": [], "samples": []}
    root = draw(empty)
    assert not bands(root) and find(root, "g", "seed-marker") and find(root, "g", "client")
    assert "SQL disruption not measured, in the seed 35 s" in "".join(root.itertext())
    assert "not back at full redundancy" in "".join(root.itertext())


def test_the_legend_names_only_the_marker_kinds_drawn():
    result = recorded("A2a")
    root = draw(result)
    legend = [g.get("data-kind") for g in find(root, "g", "legend-entry")]
    assert legend == ["fenced", "lost", "member", "promote", "start", "stop", "placed", "removed",
                      "band", "ping", "seed"]
    assert mark_of({"kind": "migrated", "host": "node1", "detail": "pg1-vm"})[0] == "other"


def test_the_band_is_painted_over_the_lanes_grounds_and_under_their_marks():
    order = list(draw(recorded("H3")).iter())
    grounds = [i for i, e in enumerate(order) if "ground" in classes(e)]
    band = [i for i, e in enumerate(order) if "failed-writes" in classes(e) and e.get("data-from-s")]
    marks = [i for i, e in enumerate(order) if "event" in classes(e)]
    assert max(grounds) < min(band) and max(band) < min(marks)


def _from_t0(result: dict) -> dict:
    """The result with nothing recorded before T0: T0 then sits on the axis's left end."""
    result = copy.deepcopy(result)
    result["events"] = [e for e in result["events"] if e["ts"] >= result["t0"]]
    result["samples"] = [s for s in result["samples"] if s["ts"] >= result["t0"]]
    return result


@pytest.mark.parametrize("scenario,shift", [("H3", None), ("A2a", None), ("H3", _from_t0), ("A2a", _from_t0)])
def test_the_t0_label_stays_inside_the_picture(scenario, shift):
    root = draw((shift or (lambda r: r))(recorded(scenario)))
    (label,) = [t for g in find(root, "g", "t0") for t in g.iter(SVG + "text")]
    text, x = "".join(label.itertext()), float(label.get("x"))
    assert text.startswith("T0: failure injected")
    left = x - len(text) * CHAR_W if label.get("text-anchor") == "end" else x
    right = x if label.get("text-anchor") == "end" else x + len(text) * CHAR_W
    assert left >= 0 and right <= float(root.get("width")), (left, right, text)
