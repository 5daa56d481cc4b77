"""The drill's readings on the logs of a real run: the lab's first H3 after the node-name fix
(node1 powered off through its BMC at T0, 2026-12-01 10:58:08 UTC; client on node2)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hastack.drill import timeline  # noqa: E402
from hastack.drill.report import render_report  # noqa: E402
from hastack.drill.run import Result  # noqa: E402

DATA = Path(__file__).parent / "data" / "drill-h3"
T0 = 1796122688.468465059


def test_the_client_log_gives_the_sql_disruption_and_the_ping_windows():
    samples = timeline.parse_samples((DATA / "client.log").read_text())
    assert len(samples) == 197
    disruption = timeline.sql_disruption(samples, T0)
    # Last acknowledged INSERT just before T0, the next one when pg2 had the VIP (T+252 s).
    assert 250 <= disruption.seconds <= 256 and disruption.failed_tries > 30  # each try waits out its timeouts
    assert "timeout expired" in disruption.first_error
    pg1 = timeline.ping_windows(samples, 0, T0)  # pg1 lost with node1
    assert pg1 and pg1[0][0] < 5
    assert timeline.ping_windows(samples, 1, T0) == []  # pg2 never went away
    acknowledged = [s.row for s in samples if s.row is not None]
    assert acknowledged == sorted(acknowledged)
    assert timeline.lost_rows(acknowledged, set(acknowledged)) == []
    assert timeline.lost_rows(acknowledged, set(acknowledged[:-1])) == [acknowledged[-1]]


def test_a_write_that_slips_through_does_not_end_the_outage():
    """Seen live in A2a: one INSERT was acknowledged between the first failed try and the real
    outage; the figure is the longest gap between acknowledged writes, not the first."""
    rows = [(0.9, 1), (19.6, 2), (27.6, None), (34.6, 3), (40.7, None), (77.5, None), (105.5, None), (111.5, 4)]
    samples = [timeline.Sample(T0 + t, row, "" if row else "timeout expired", ()) for t, row in rows]
    assert timeline.sql_disruption(samples, T0) == timeline.Disruption(76.9, 4, "timeout expired")
    unrecovered = samples[:-1]
    assert timeline.sql_disruption(unrecovered, T0).seconds == 70.9


def test_the_failed_write_spans_run_from_the_last_acknowledged_write_to_the_next():
    """The stretches the timeline picture draws; a write that slips through splits them, and one
    still failing when the client stopped runs to its last try."""
    rows = [(0.9, 1), (19.6, 2), (27.6, None), (34.6, 3), (40.7, None), (77.5, None), (111.5, 4), (112.0, None)]
    samples = [timeline.Sample(t, row, "" if row else "timeout expired", ()) for t, row in rows]
    assert timeline.failed_write_spans(samples) == [(19.6, 34.6, 1), (34.6, 111.5, 2), (111.5, 112.0, 1)]
    assert timeline.failed_write_spans(samples[:2]) == []


def test_no_failure_means_no_disruption():
    samples = [timeline.Sample(T0 + i, i + 1, "", (True,)) for i in range(5)]
    assert timeline.sql_disruption(samples, T0) == timeline.Disruption(0.0, 0, "")


def test_the_journals_give_both_layers_time_line():
    hv = timeline.parse_journal((DATA / "node2.journal").read_text(), "hypervisor")
    guest = timeline.parse_journal((DATA / "pg2.journal").read_text(), "guest")
    events = timeline.merge_events(hv, guest)
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    kinds = [(e.layer, e.kind, e.detail) for e in events]
    assert ("hypervisor", "lost", "node1.hastack-lab.internal") in kinds
    assert ("hypervisor", "fenced", "reboot node1.hastack-lab.internal via fence-node1: ok") in kinds
    assert ("hypervisor", "action", "promote drbd-pg1 on node2.hastack-lab.internal: ok") in kinds
    assert ("guest", "fenced", "reboot pg1.hastack-lab.internal via fence-pg1: failed rc=1") in kinds
    assert ("guest", "action", "start pgvip on pg2.hastack-lab.internal: ok") in kinds
    # Ordered as they happened: node1's fence, then pg1-vm on node2, then the VIP on pg2.
    order = [d for _l, k, d in kinds if k in ("fenced", "action")]
    assert (order.index("reboot node1.hastack-lab.internal via fence-node1: ok")
            < order.index("start pg1-vm on node2.hastack-lab.internal: ok")
            < order.index("start pgvip on pg2.hastack-lab.internal: ok"))
    # The check that the database came back on the survivor reads this.
    assert timeline.first_start(events, "pgvip", T0) == "pg2.hastack-lab.internal"
    assert timeline.first_start(events, "pgvip", events[-1].ts + 1) is None
    handler = [e for e in hv if e.kind == "handler"]
    assert handler and all("placed constraint" in e.detail for e in handler)
    # A lost node is logged by the controller and the fencer; it counts once.
    assert sum(1 for e in events if e.kind == "lost" and e.layer == "hypervisor") == 1


def test_the_report_sets_the_seeds_figures_beside_the_measured_ones():
    samples = timeline.parse_samples((DATA / "client.log").read_text())
    result = Result("H3", "BMC power-off", {"hv0": "node1"}, t0=T0, recovered_s=None,
                    sql=timeline.sql_disruption(samples, T0),
                    pings={"pg1": timeline.ping_windows(samples, 0, T0)},
                    fenced=["hypervisor: node1.hastack-lab.internal", "guest: pg1.hastack-lab.internal"],
                    events=timeline.parse_journal((DATA / "node2.journal").read_text(), "hypervisor"),
                    predicted="fence node1, pg1; pgvip pg1->pg2")
    result.check("back at full redundancy within the recover limit", False, "gw1-vm is not running")
    text = render_report([result])
    row = next(line for line in text.splitlines() if line.startswith("| H3 |"))
    assert "35s / 25" in row  # the seed's 35 s beside the measured ~253 s
    assert "hyp+app / node1, pg1" in row and "NOT" in row and "FAILED: back at full redundancy" in row
    assert "fence node1, pg1; pgvip pg1->pg2" in row
    assert "| hypervisor | node2 | fenced: reboot node1.hastack-lab.internal via fence-node1: ok |" in text


def _events(t0: float, *rows: tuple[float, str, str]) -> list[timeline.Event]:
    return [timeline.Event(t0 + t, "hypervisor", "node2", kind, detail) for t, kind, detail in rows]


def test_a_vm_of_the_lost_hypervisor_is_said_to_have_failed_over_or_to_have_waited_for_its_node():
    # The lab's H3 of 2026-12-01 22:20: gw1-vm failed over; pg1-vm's promotion on node2 queued
    # behind gw1-vm's start on the loaded survivor, node1 came back first, and pg1-vm waited for it.
    events = _events(T0, (34.7, "lost", "node1"), (163.4, "member", "node1"),
                     (247.0, "action", "start gw1-vm on node2: ok"), (534.1, "action", "start gw1-vm on node1: ok"),
                     (540.3, "action", "start pg1-vm on node1: ok"))
    assert timeline.vm_recovery(events, ["gw1-vm", "pg1-vm", "mgmt-vm"], "node1", "node2", T0) == [
        "gw1-vm: failed over to node2 at T+247s",
        "pg1-vm: not started on node2; down until it started on node1 at T+540s, after node1 rejoined at T+163s",
        "mgmt-vm: not started again"]
    assert timeline.vm_recovery(events[:1], ["pg1-vm"], "node1", "node2", T0) == ["pg1-vm: not started again"]
