"""The seed's nine failures as data: what each injects, where, and what the seed measured.

Roles, not names: `guest0` is the stack's first guest (the seed's pg1), `guest1` the other;
`hv0` is the hypervisor that runs guest0's VM when the drill starts (the seed's node1), `hv1` the
other.  `active` says which guest holds the database before the failure, as in the seed's runs.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedRow:
    """The seed's own results table: client-observed SQL disruption (s) and who was fenced."""

    sql_s: float
    fenced: str  # "no" | "app" | "hyp+app"
    note: str


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    active: str  # guest0 | guest1: who holds the database before the failure
    inject: str  # the injection's name (see hastack.drill.run.INJECTIONS)
    fences: tuple[str, ...]  # roles the seed expects to be fenced
    seed: SeedRow
    takeover: bool = False  # the seed's database moved to the other guest (else it stayed, or restarted in place)


SCENARIOS = {s.id: s for s in (
    Scenario("A1", "standby of the active guest", "guest0", "guest_standby", (),
             SeedRow(8, "no", "ordered handoff pg1->pg2"), takeover=True),
    Scenario("A2a", "guest corosync partition, active guest cut off", "guest0", "guest_partition", ("guest0",),
             SeedRow(9, "app", "pg2 fenced pg1 in 2s; VIP on pg2 at T+7s"), takeover=True),
    Scenario("A2b", "guest corosync partition, standby guest cut off", "guest1", "guest_partition", ("guest0",),
             SeedRow(0, "app", "pg2 fenced standby pg1; VIP never moved")),
    Scenario("A3", "virsh destroy of the active guest's domain", "guest0", "destroy_domain", ("guest0",),
             SeedRow(18, "app", "VIP on pg2 at T+7s; client TCP timeout is the rest"), takeover=True),
    Scenario("A4", "kill -9 of the postgres primary", "guest1", "kill_postgres", (),
             SeedRow(2, "no", "in-place restart on pg2")),
    Scenario("H1", "standby of the hypervisor under the standby guest", "guest1", "hypervisor_standby", (),
             SeedRow(0, "no", "pg1-vm node1->node2, clean shutdown")),
    Scenario("H2a", "hypervisor corosync partition, active node cut off", "guest0", "hypervisor_partition",
             ("hv0", "guest0"), SeedRow(35, "hyp+app", "node2 fenced node1; VIP on pg2 from T+33s"), takeover=True),
    Scenario("H2b", "hypervisor partition, tiebreaker swapped", "guest0", "hypervisor_partition_swapped",
             ("hv1", "guest1"), SeedRow(0, "hyp+app", "node1 fenced node2; VIP stayed on pg1")),
    Scenario("H3", "BMC power-off of the hypervisor under the active guest", "guest0", "power_off",
             ("hv0", "guest0"), SeedRow(35, "hyp+app", "node2 fenced node1; VIP on pg2 from T+14s"), takeover=True),
)}
ORDER = tuple(SCENARIOS)
