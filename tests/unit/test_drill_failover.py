"""When a drill may undo its injection: the failure has played out in every view of both layers.

The live A2a that taught this: the drill read the guest cluster from pg1, which (cut off from pg2,
not yet fenced) still saw itself running the database, took the service as back after 20 s,
lifted the partition, and nobody was ever fenced."""
from __future__ import annotations

from hastack.drill.timeline import Sample, failover_done

CHAIN = ["pgdata-fs", "pgsql", "pgvip"]
T0 = 1000.0


def view(runs_on: str | None, unclean: tuple[str, ...] = (), extra: dict | None = None) -> dict:
    resources = {rid: [{"role": "Started", "nodes": [runs_on] if runs_on else [], "agent": "ocf:heartbeat:x",
                        "active": runs_on is not None, "failed": False, "pending": None}] for rid in CHAIN}
    resources.update(extra or {})
    nodes = {n: {"online": n not in unclean, "standby": False, "unclean": n in unclean} for n in ("pg1", "pg2")}
    return {"resources": resources, "nodes": nodes, "failures": []}


def hv_view(running: dict[str, str] | None = None) -> dict:
    resources = {rid: [{"role": "Started", "nodes": [node], "agent": agent, "active": True, "failed": False,
                        "pending": None}] for rid, (node, agent) in (running or {}).items()}
    nodes = {n: {"online": True, "standby": False, "unclean": False} for n in ("node1", "node2")}
    return {"resources": resources, "nodes": nodes, "failures": []}


def writes(*acked_at: float, failing_after: float | None = None) -> list[Sample]:
    out = [Sample(ts, i, "", ()) for i, ts in enumerate(acked_at)]
    if failing_after is not None:
        out.append(Sample(failing_after, None, "timeout expired", ()))
    return out


def test_a_partitioned_guest_that_still_sees_itself_primary_is_not_a_failover():
    cut_off, survivor = view("pg1", unclean=("pg2",)), view(None, unclean=("pg1",))
    assert not failover_done([cut_off, survivor], [hv_view()], CHAIN, "pgvip", writes(T0 + 30), T0)
    assert not failover_done([cut_off], [hv_view()], CHAIN, "pgvip", writes(T0 + 30), T0)  # pg2 unreachable
    # pg1 fenced: only pg2 answers, and it runs the chain.
    assert failover_done([view("pg2")], [hv_view()], CHAIN, "pgvip", writes(T0 + 60), T0)


def test_the_guests_must_agree_and_the_client_must_write_again():
    assert not failover_done([view("pg1"), view("pg2")], [hv_view()], CHAIN, "pgvip", writes(T0 + 60), T0)
    # kill -9 of the postmaster: the monitor has not noticed yet, but the client has.
    assert not failover_done([view("pg2"), view("pg2")], [hv_view()], CHAIN, "pgvip",
                             writes(T0 - 1, failing_after=T0 + 25), T0)
    assert not failover_done([view("pg2")], [hv_view()], CHAIN, "pgvip", writes(T0 + 5), T0)  # too early
    assert failover_done([view("pg2"), view("pg2")], [hv_view()], CHAIN, "pgvip", writes(T0 + 25), T0)


def test_a_fence_still_owed_in_the_hypervisor_layer_holds_the_drill():
    owed = hv_view()
    owed["nodes"]["node1"].update(online=False, unclean=True)
    assert not failover_done([view("pg2")], [owed], CHAIN, "pgvip", writes(T0 + 60), T0)


def test_a_standby_node_must_have_run_down_everything_but_fence_devices():
    moving = hv_view({"pg2-vm": ("node1", "ocf:heartbeat:VirtualDomain"), "fence-node2": ("node1", "stonith:fence_ipmilan")})
    assert not failover_done([view("pg2")], [moving], CHAIN, "pgvip", writes(T0 + 60), T0, evacuated="node1")
    moved = hv_view({"pg2-vm": ("node2", "ocf:heartbeat:VirtualDomain"), "fence-node2": ("node1", "stonith:fence_ipmilan")})
    assert failover_done([view("pg2")], [moved], CHAIN, "pgvip", writes(T0 + 60), T0, evacuated="node1")


def test_before_the_loss_is_even_declared_every_view_looks_healthy_so_the_owed_fence_decides():
    """The live A2a that taught this too: corosync needs token + consensus (22 s on the lab) to
    declare pg1 lost; until then both guests look healthy and the client writes through pg1."""
    healthy = [view("pg1"), view("pg1")]
    assert not failover_done(healthy, [hv_view()], CHAIN, "pgvip", writes(T0 + 21), T0, owed_fences={"pg1"})
    assert not failover_done(healthy, [hv_view()], CHAIN, "pgvip", writes(T0 + 21), T0, holder="pg2")
    assert failover_done([view("pg2")], [hv_view()], CHAIN, "pgvip", writes(T0 + 90), T0, holder="pg2")


def test_fence_history_gives_each_targets_successful_fences_once():
    from hastack.facts.status import fence_successes

    xml = """<pacemaker-result><fence_history>
      <fence_event action="reboot" target="pg1" status="success" completed="2026-12-01 15:00:07Z"/>
      <fence_event action="reboot" target="pg1" status="success" completed="2026-12-01 14:55:27Z"/>
      <fence_event action="reboot" target="pg1" status="success" completed="2026-12-01 14:55:27Z"/>
      <fence_event action="reboot" target="pg2" status="failed" completed="2026-12-01 14:51:02Z"/>
    </fence_history></pacemaker-result>"""
    # The 14:55 fence listed twice is one fence, not two.
    assert fence_successes(xml) == {"pg1": {"2026-12-01 15:00:07Z", "2026-12-01 14:55:27Z"}}


def test_the_fenced_side_of_a_partition_that_boots_still_cut_off_does_not_hold_the_drill():
    """H2b, live: node2 fenced, booted with its ring links still cut, waits for all without quorum
    and sees node1 UNCLEAN forever; the drill waited its whole limit while SQL had been back for
    minutes.  A partition with quorum that sees a node unclean still holds it."""
    survivor, rebooted = hv_view(), dict(hv_view(), quorate=False)
    rebooted["nodes"] = dict(rebooted["nodes"], node1={"online": False, "standby": False, "unclean": True})
    guests = [view("pg1"), view("pg1")]
    assert failover_done(guests, [survivor, rebooted], CHAIN, "pgvip", writes(T0 + 30), T0)
    assert not failover_done(guests, [survivor, dict(rebooted, quorate=True)], CHAIN, "pgvip", writes(T0 + 30), T0)
    assert not failover_done(guests, [rebooted], CHAIN, "pgvip", writes(T0 + 30), T0)  # no quorate view at all


# node2's crm_mon, live in H2b: booted after its fence with its ring links still cut.
WITHOUT_QUORUM = """<pacemaker-result api-version="2.30" request="crm_mon -1 --output-as=xml"><summary>
<current_dc present="true" version="2.1.5-a3f44794f94" name="node2.hastack-lab.internal" id="2" with_quorum="false" mixed_version="false"/>
</summary><nodes>
<node name="node1.hastack-lab.internal" id="1" online="false" standby="false" unclean="true" type="member"/>
<node name="node2.hastack-lab.internal" id="2" online="true" standby="false" unclean="false" type="member"/>
</nodes></pacemaker-result>"""


def test_crm_mon_says_whether_the_partition_has_quorum():
    from hastack.facts.status import parse_crm_mon

    assert parse_crm_mon(WITHOUT_QUORUM)["quorate"] is False
    assert parse_crm_mon(WITHOUT_QUORUM.replace('with_quorum="false"', 'with_quorum="true"'))["quorate"] is True
    assert parse_crm_mon(WITHOUT_QUORUM)["nodes"]["node1.hastack-lab.internal"]["unclean"] is True


def test_a_fence_beyond_the_seeds_is_a_finding_and_a_missing_one_fails():
    from hastack.drill.run import fence_verdict

    assert fence_verdict([], ["pg1"]) == (True, "expected none, fenced ['pg1']",
                                          ["fenced beyond the seed's: pg1 (the time line says by whom and when)"])
    assert fence_verdict(["node2", "pg2"], ["node2", "pg2"]) == (True, "expected ['node2', 'pg2'], fenced ['node2', 'pg2']", [])
    assert fence_verdict(["pg1"], [])[0] is False
