"""`python -m hastack simulate --stack S`: the seed's nine failure scenarios through the real scheduler.

Each scenario builds its failure on the stack's rendered CIBs (one render, reused) with
`crm_simulate` -- node loss (`-f`), standby (a node attribute), failed monitors (`-i`), promotion
scores (transient attributes the DRBD agent would set), the tiebreaker delay (moved in the CIB, as
the seed did for H2b) -- and reads what the scheduler decides from the transition graphs it writes
(`-G`): who is fenced, what stops, promotes and starts where, and which action waits for which.

Expectations are derived from the stack, not from the seed's node names: the tiebreaker survivor is
the node whose own fence device carries the delay, the active guest is the guest DRBD's initial
primary, "the VMs of a failed node" are those running there after boot, failback follows the
declared `failback`.  The seed's own expectation and observation are printed beside them; where the
seed disagrees with the scheduler that is flagged, and any failed stack-derived expectation makes
the command exit 1.  `HASTACK_SIMULATE_RENDER=<dir>` reuses a render made by `python -m hastack
render` instead of rendering again (the render is most of a run).

What a scheduler cannot show: timing.  Each layer's transition is computed from that layer's CIB;
the two clusters share nothing, so the race the seed observed in H2a/H2b/H3 (the hypervisor
restarts a VM, the guest cluster's fence then kills it again, the hypervisor restarts it again) is
shown as its three scheduler steps, not as a timeline.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from hastack.config.models import StackConfig
from hastack.facts.status import running_on
from hastack.layout import drbd_primitive_id, fence_device_id, guest_objects, vm_resource_id
from hastack.pacemaker import primitive
from hastack.pacemaker.primitive import PrimitiveSpec
from hastack.reports import HastackError
from hastack.simulate import Simulation, _run, parse_round

PROMOTION = "10000"  # what the DRBD agent sets for an UpToDate disk
PROMOTION_LOW = "5000"
CHANGE_OPS = ("start", "stop", "promote", "demote", "migrate_to", "migrate_from")


# ---- the seed's tables (its own words, its own node names) ----------------------------------------
@dataclass(frozen=True)
class Seed:
    title: str
    action: str
    expected: str
    observed: str
    # Normalised for comparison: fenced nodes, and where the VIP ends (None: not stated).
    expected_fenced: tuple[str, ...]
    expected_vip: str | None
    observed_fenced: tuple[str, ...]
    observed_vip: str | None


SEED = {
    "A1": Seed("Graceful guest migration", "pcs node standby pg1",
               "No STONITH; ordered handoff to pg2", "No STONITH; ordered handoff pg1->pg2 (8s)",
               (), "pg2", (), "pg2"),
    "A2a": Seed("Guest partition, active node", "iptables block Corosync pg1<->pg2, pg1 active",
                "pg2 fences pg1; pg2 takes over", "pg2 fenced pg1 in 2s; VIP on pg2 at T+7s; pg1-vm self-healed",
                ("pg1",), "pg2", ("pg1",), "pg2"),
    "A2b": Seed("Guest partition, standby node", "iptables block Corosync pg1<->pg2, pg2 standby",
                "pg1 fences pg2; no disruption, pg1 already active",
                "run with pg2 active: pg2 fenced standby pg1; VIP never moved; pg1-vm self-healed",
                ("pg2",), "pg1", ("pg1",), "pg2"),
    "A3": Seed("Hard VM kill", "virsh destroy pg1 from hypervisor",
               "pg2 fences pg1 (triggers hypervisor restart); pg2 takes over, pg1-vm self-heals",
               "VIP on pg2 at T+7s; pg1-vm self-healed at T+9s", ("pg1",), "pg2", ("pg1",), "pg2"),
    "A4": Seed("PostgreSQL process kill", "kill -9 postgres on the primary",
               "No STONITH; in-place restart", "No STONITH; stop/start in place on the primary (2s)",
               (), None, (), None),
    "H1": Seed("Graceful hypervisor migration", "pcs node standby node1",
               "No STONITH; VMs migrate to node2", "No STONITH; pg1-vm (and gw1-vm) node1->node2, clean shutdown",
               (), None, (), None),
    "H2a": Seed("Hypervisor partition, active node", "iptables block Corosync node1<->node2, node1 active",
                "node2 fences node1 (iDRAC); VMs migrate to node2; pg cluster continues",
                "node2 fenced node1; gw1-vm, pg1-vm on node2; pg2 fenced pg1-vm again; VIP on pg2",
                ("node1", "pg1"), "pg2", ("node1", "pg1"), "pg2"),
    "H2b": Seed("Hypervisor partition, standby node (delay swapped)",
                "iptables block Corosync node1<->node2, tiebreaker moved to fence-node1",
                "node1 fences node2 (iDRAC); no VM disruption",
                "node1 fenced node2; pg2-vm, gw2-vm, mgmt-vm on node1; pg1 fenced pg2-vm again; VIP stayed on pg1",
                ("node2",), "pg1", ("node2", "pg2"), "pg1"),
    "H3": Seed("Physical host power-off", "ipmitool chassis power off node1",
               "node2 fires iDRAC fence; VMs restart on node2, app layer continues",
               "node2 fenced node1; pg1-vm, gw1-vm on node2; pg2 fenced pg1-vm again; VIP on pg2",
               ("node1", "pg1"), "pg2", ("node1", "pg1"), "pg2"),
}
SEED_NODES = {"node1", "node2", "pg1", "pg2"}


def short_name(node: str) -> str:
    return node.split(".", 1)[0]
ORDER = ("A1", "A2a", "A2b", "A3", "A4", "H1", "H2a", "H2b", "H3", "FB-guest", "FB-hyp")


# ---- transition graphs --------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    id: str
    kind: str  # rsc_op | pseudo_event | crm_event
    op: str
    resource: str
    node: str | None


@dataclass
class Graph:
    actions: dict[str, Action] = field(default_factory=dict)
    inputs: dict[str, set[str]] = field(default_factory=dict)

    def find(self, op: str, resource: str = "", node: str | None = None) -> list[str]:
        return [a.id for a in self.actions.values() if a.op == op and (not resource or a.resource == resource)
                and (node is None or a.node == node)]

    def ancestors(self, action_id: str) -> set[str]:
        seen, todo = set(), [action_id]
        while todo:
            for parent in self.inputs.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen


def _resource_of(element: ET.Element) -> str:
    primitive = element.find("primitive")
    if primitive is not None:
        return primitive.get("id", "").split(":")[0]
    key = element.get("operation_key", "")
    match = re.match(r"^(.*)_([a-z_]+)_([0-9]+)$", key)
    return match.group(1).split(":")[0] if match else key


def parse_graph(xml_text: str) -> Graph:
    graph = Graph()
    root = ET.fromstring(xml_text)
    for synapse in root.iter("synapse"):
        action_set = synapse.find("action_set")
        ids = []
        for element in list(action_set) if action_set is not None else []:
            op = element.get("operation", "")
            if element.tag == "crm_event":
                resource = ""
            else:
                resource = _resource_of(element)
            action = Action(element.get("id"), element.tag, op, resource, element.get("on_node"))
            graph.actions[action.id] = action
            ids.append(action.id)
        triggers = {t.get("id") for inputs in synapse.findall("inputs") for trig in inputs.findall("trigger")
                    for t in trig}
        for action_id in ids:
            graph.inputs.setdefault(action_id, set()).update(triggers)
    return graph


@dataclass
class Transition:
    events: tuple[str, ...]
    summary: tuple[str, ...]
    graph: Graph

    @property
    def fenced(self) -> list[str]:
        return [a.node for a in self.graph.actions.values() if a.kind == "crm_event" and a.op == "stonith"]

    def changes(self) -> list[Action]:
        return [a for a in self.graph.actions.values() if a.kind == "rsc_op" and a.op in CHANGE_OPS]


# ---- a simulated layer --------------------------------------------------------------------------
class Layer:
    """One cluster's CIB advanced transition by transition, every transition's graph kept."""

    def __init__(self, name: str, cib_xml: str):
        self.name = name
        self.sim = Simulation(cib_xml)
        self.steps: list[Transition] = []
        self.vip: str | None = None

    def clone(self) -> "Layer":
        twin = Layer(self.name, self.sim.path.read_text())
        twin.vip = self.vip
        return twin

    def close(self) -> None:
        self.sim.close()

    def step(self, *events: str) -> Transition:
        path = self.sim.path
        out, graph = path.with_name("next.xml"), path.with_name("graph.xml")
        text = _run(["crm_simulate", "-x", str(path), "-S", "-O", str(out), "-G", str(graph), *events])
        out.replace(path)
        step = Transition(tuple(events), parse_round(text).summary, parse_graph(graph.read_text()))
        self.steps.append(step)
        return step

    def settle(self, *events: str, max_rounds: int = 10) -> list[Transition]:
        done = [self.step(*events)]
        while done[-1].summary or done[-1].changes():
            if len(done) > max_rounds:
                raise HastackError("SIMULATE_NO_CONVERGENCE", f"{self.name}: still acting after {max_rounds} transitions")
            done.append(self.step())
        return done

    def status(self) -> dict:
        return self.sim.status()

    def set_attributes(self, attributes: dict[str, dict[str, str]]) -> None:
        self.sim.set_attributes(attributes)

    def node_attribute(self, node: str, name: str, value: str) -> None:
        env = dict(os.environ, CIB_file=str(self.sim.path))
        _run(["crm_attribute", "-N", node, "-n", name, "-v", value, "-l", "forever"], env=env)

    def edit(self, change) -> None:
        root = ET.fromstring(self.sim.path.read_text())
        change(root)
        self.sim.path.write_text(ET.tostring(root, encoding="unicode"))


@dataclass
class Episode:
    """What one layer did in one part of a scenario."""

    layer: str
    label: str
    before: dict
    after: dict
    steps: list[Transition]

    @property
    def fenced(self) -> list[str]:
        return [n for s in self.steps for n in s.fenced]

    def changes(self) -> list[Action]:
        return [a for s in self.steps for a in s.changes()]

    def ops(self, op: str, resource: str) -> list[str]:
        """Nodes on which `op` ran for `resource` (real actions only)."""
        return [a.node for a in self.changes() if a.op == op and a.resource == resource]

    def happens_before(self, first: tuple[str, str, str | None], then: tuple[str, str, str | None]) -> bool:
        """Does some `then` action wait (transitively) for a `first` action in the same transition?"""
        for s in self.steps:
            firsts = set(s.graph.find(*first))
            if not firsts:
                continue
            for t in s.graph.find(*then):
                if firsts & s.graph.ancestors(t):
                    return True
        return False

    vip: str | None = None  # the guest VIP's id, for summaries

    def vip_summary(self) -> str:
        if not self.vip:
            return ""
        before, after = running_on(self.before, self.vip), running_on(self.after, self.vip)
        if before == after:
            return f"VIP stays on {'/'.join(after) or '-'}"
        return f"VIP {'/'.join(before) or '-'} -> {'/'.join(after) or '-'}"

    def describe(self, hide: set[str] = frozenset()) -> str:
        parts = []
        if self.fenced:
            parts.append("fence " + ", ".join(self.fenced))
        parts += _placement_changes(self, hide)
        return "; ".join(parts) or "nothing changes"


def _where(status: dict, rid: str) -> tuple[str, ...]:
    return tuple(running_on(status, rid))


def _placement_changes(run: Episode, hide: set[str]) -> list[str]:
    out = []
    resources = sorted(set(run.before["resources"]) | set(run.after["resources"]))
    restarted = {(a.resource, a.node) for a in run.changes() if a.op == "start"} & \
                {(a.resource, a.node) for a in run.changes() if a.op == "stop"}
    for rid in resources:
        if rid in hide or rid.startswith("fence-"):
            continue
        promoted_before, promoted_after = running_on(run.before, rid, "Promoted"), running_on(run.after, rid, "Promoted")
        if promoted_before or promoted_after:
            if promoted_before != promoted_after:
                out.append(f"{rid} Promoted {'/'.join(promoted_before) or '-'} -> {'/'.join(promoted_after) or '-'}")
            continue
        if any(i["role"] in ("Unpromoted", "Slave") for i in run.after["resources"].get(rid, [])) or \
                len(run.after["resources"].get(rid, [])) > 1:
            continue  # clone instances that only start/stop with their node
        before, after = _where(run.before, rid), _where(run.after, rid)
        if before != after:
            out.append(f"{rid} {'/'.join(before) or '-'} -> {'/'.join(after) or '-'}")
        elif after and (rid, after[0]) in restarted:
            out.append(f"{rid} restarted on {after[0]}")
    return out


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    id: str
    title: str
    expectation: str
    runs: dict[str, Episode] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seed: Seed | None = None
    seed_agrees: bool | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(what, bool(ok), detail))

    def scheduler(self) -> str:
        return " | ".join(f"{r.label}: {r.describe()}" for r in self.runs.values())

    def short(self) -> str:
        """One line: who is fenced, where the VIP ends, what the hypervisor layer moves or restarts
        (the losing side's view of a partition and what-if runs left out)."""
        runs = [r for key, r in self.runs.items() if not key.endswith("-loser") and not key.startswith("whatif")]
        if not runs:
            return "; ".join(self.notes) or "-"
        fenced = [n for r in runs for n in r.fenced]
        parts = ["fence " + ", ".join(fenced) if fenced else "no fence"]
        guest = self.runs.get("guest")
        if guest is not None:
            parts.append(guest.vip_summary())
            restarted = [c.split(" restarted on ")[0] for c in _placement_changes(guest, set()) if " restarted on " in c]
            if restarted and guest.vip in restarted:
                parts[-1] = f"{', '.join(restarted)} restarted on {'/'.join(running_on(guest.after, guest.vip))}"
        for r in runs:
            if r.layer != "hypervisor":
                continue
            moved: dict[tuple[str, str], int] = {}
            for change in _placement_changes(r, set()):
                match = re.match(r"^(\S+-vm) (\S+) -> (\S+)$", change)
                if match:
                    moved[(match.group(2), match.group(3))] = moved.get((match.group(2), match.group(3)), 0) + 1
                elif change.endswith(tuple(f"on {n}" for n in r.after["nodes"])) and "restarted" in change:
                    parts.append(change)
            parts += [f"{count} VM{'s' if count > 1 else ''} {a}->{b}" for (a, b), count in moved.items()]
        return "; ".join(parts)


# ---- the stack's topology, derived from config and rendered CIBs ---------------------------------
@dataclass
class Topology:
    """Nodes by their Pacemaker names (each host's `uname -n`)."""

    hv_nodes: list[str]
    vms: dict[str, str]  # VM resource id -> preferred node
    hv_drbd: list[str]  # DRBD primitive ids of the VMs
    vm_monitor_ms: dict[str, int]
    hv_survivor: str | None  # the node whose own fence device waits (tiebreaker)
    hv_delay: str
    hv_failback: str
    hv_stickiness: int
    hv_location: dict[str, int]
    guest_nodes: list[str] = field(default_factory=list)
    guest_vm: dict[str, str] = field(default_factory=dict)  # guest node -> VM resource id
    guest_primary: str | None = None  # the guest DRBD's initial primary
    guest_drbd: str | None = None
    guest_chain: list[str] = field(default_factory=list)  # the chain's ids in start order (fs ... VIP)
    guest_pgsql: str | None = None
    guest_vip: str | None = None
    guest_survivor: str | None = None
    guest_delay: str = ""
    guest_failback: str = ""
    guest_migration_threshold: int | None = None
    pgsql_monitor_ms: int | None = None

    @property
    def vip(self) -> str | None:
        return self.guest_vip

    def other(self, nodes: list[str], node: str) -> str:
        return next(n for n in nodes if n != node)


def _interval_ms(text: str) -> int:
    from hastack.config.models import duration_ms

    return duration_ms(text) if not text.isdigit() else int(text) * 1000


def _monitor_ms(primitives: dict[str, PrimitiveSpec], rid: str) -> int:
    monitors = [op for op in primitives[rid].ops if op.name == "monitor"] if rid in primitives else []
    return _interval_ms(monitors[0].interval) if monitors else 0


def tiebreaker(cib_xml: str) -> tuple[str | None, str]:
    """The survivor (its own device waits) and the delay shown, or (None, why) unless exactly one."""
    delayed = []
    for device in (p for p in primitive.read_all(cib_xml) if p.is_stonith):
        params = device.params
        delay = {k: v for k, v in params.items() if k.startswith("pcmk_delay") and v not in ("0", "0s", "")}
        if delay:
            delayed.append((params.get("pcmk_host_list", "").split()[0] if params.get("pcmk_host_list") else None,
                            device.id, delay))
    if len(delayed) != 1:
        return None, f"{len(delayed)} devices carry a delay"
    target, device, delay = delayed[0]
    return target, f"{device} " + " ".join(f"{k}={v}" for k, v in sorted(delay.items()))


def stack_topology(config: StackConfig, hv_cib: str, guest_cib: str | None) -> Topology:
    hv_primitives = {p.id: p for p in primitive.read_all(hv_cib)}
    hv = config.hypervisor
    survivor, delay = tiebreaker(hv_cib)
    vms = {vm_resource_id(v.name): config.preferred_pacemaker_node(v) for v in config.vms}
    topology = Topology(
        hv_nodes=[n.pacemaker_name for n in hv.nodes], vms=vms, hv_drbd=[drbd_primitive_id(v.name) for v in config.vms],
        vm_monitor_ms={rid: _monitor_ms(hv_primitives, rid) for rid in vms}, hv_survivor=survivor, hv_delay=delay,
        hv_failback=hv.failback.value, hv_stickiness=int(hv.resource_defaults.get("resource-stickiness", "0")),
        hv_location={vm_resource_id(v.name): v.location_score for v in config.vms},
    )
    if config.guest is not None and guest_cib is not None:
        guest = config.guest
        objects = guest_objects(guest)
        g_survivor, g_delay = tiebreaker(guest_cib)
        threshold = guest.resource_defaults.get("migration-threshold")
        topology.guest_nodes = [n.pacemaker_name for n in guest.nodes]
        topology.guest_vm = {n.pacemaker_name: vm_resource_id(n.vm) for n in guest.nodes}
        topology.guest_primary = guest.nodes[0].pacemaker_name  # GuestPgCluster forces the first primary there
        topology.guest_drbd = objects.drbd_clone.id
        topology.guest_chain = [spec.id for spec in objects.chain]
        topology.guest_pgsql, topology.guest_vip = objects.pgsql.id, objects.vip.id
        topology.guest_survivor, topology.guest_delay = g_survivor, g_delay
        topology.guest_failback = guest.failback.value
        topology.guest_migration_threshold = int(threshold) if threshold and threshold.isdigit() else None
        topology.pgsql_monitor_ms = _monitor_ms({p.id: p for p in primitive.read_all(guest_cib)}, objects.pgsql.id)
    return topology


# ---- booting the layers -------------------------------------------------------------------------
def boot_hypervisor(cib: str, topology: Topology) -> Layer:
    layer = Layer("hypervisor", cib)
    layer.step(*[a for n in topology.hv_nodes for a in ("-u", n)])
    layer.set_attributes({n: {f"master-{d}": PROMOTION for d in topology.hv_drbd} for n in topology.hv_nodes})
    layer.settle()
    layer.steps.clear()
    return layer


def boot_guest(cib: str, topology: Topology, primary: str) -> Layer:
    layer = Layer("guest", cib)
    layer.step(*[a for n in topology.guest_nodes for a in ("-u", n)])
    key = f"master-{topology.guest_drbd}"
    layer.set_attributes({n: {key: PROMOTION if n == primary else PROMOTION_LOW} for n in topology.guest_nodes})
    layer.settle()
    # Both disks UpToDate from here on, as after the initial sync: equal scores.
    layer.set_attributes({n: {key: PROMOTION} for n in topology.guest_nodes})
    layer.settle()
    layer.steps.clear()
    layer.vip = topology.vip
    return layer


def run_events(layer: Layer, label: str, *events: str, before: dict | None = None,
               prepare=None) -> Episode:
    before = before if before is not None else layer.status()
    start = len(layer.steps)
    if prepare:
        prepare(layer)
    layer.settle(*events)
    return Episode(layer.name, label, before, layer.status(), layer.steps[start:], layer.vip)


# ---- helpers for expectations -------------------------------------------------------------------
def _on(status: dict, rid: str, role: str | None = None) -> list[str]:
    return running_on(status, rid, role)


def _guest_stack_on(topology: Topology, status: dict) -> list[str]:
    """Nodes holding the whole guest chain (promoted DRBD, fs, pgsql, VIP)."""
    nodes = set(_on(status, topology.guest_drbd, "Promoted")) if topology.guest_drbd else set()
    for rid in topology.guest_chain:
        nodes &= set(_on(status, rid))
    return sorted(nodes)


def _vms_on(status: dict, topology: Topology, node: str) -> list[str]:
    return sorted(rid for rid in topology.vms if _on(status, rid) == [node])


def _chain_checks(out: Outcome, run: Episode, topology: Topology, old: str, new: str) -> None:
    """Ordered handoff old -> new: the chain stops from its end; demote; promote; it starts in order."""
    drbd, chain = topology.guest_drbd, topology.guest_chain
    links = list(zip(chain, chain[1:]))
    pairs = ([(("stop", b, old), ("stop", a, old)) for a, b in reversed(links)]
             + [(("stop", chain[0], old), ("demote", drbd, old)), (("promote", drbd, new), ("start", chain[0], new))]
             + [(("start", a, new), ("start", b, new)) for a, b in links])
    missing = [f"{a[0]} {a[1]}@{a[2]} -> {b[0]} {b[1]}@{b[2]}" for a, b in pairs if not run.happens_before(a, b)]
    out.check("the handoff is ordered (graph edges)", not missing, "missing: " + ", ".join(missing) if missing else
              f"stop {', '.join(reversed(chain))} on {old}; demote; promote on {new}; start {', '.join(chain)}")


def _fence_first(out: Outcome, run: Episode, fenced: str, resources: list[tuple[str, str, str]]) -> None:
    """Every listed action waits for the fence of `fenced` (no promotion beside an unconfirmed node)."""
    fence = ("stonith", "", fenced)
    missing = [f"{op} {rid}@{node}" for op, rid, node in resources if not run.happens_before(fence, (op, rid, node))]
    out.check(f"takeover waits for the fence of {fenced}", not missing,
              "not after the fence: " + ", ".join(missing) if missing else
              f"{len(resources)} promote/start actions depend on it")


def _seed_compare(out: Outcome, fenced: list[str], vip: str | None) -> None:
    seed = out.seed
    if seed is None:
        return
    plan_fenced = set(seed.expected_fenced)
    # The seed's tables name nodes by their short names.
    fenced, vip = [short_name(n) for n in fenced], short_name(vip) if vip else vip
    agrees = set(fenced) == plan_fenced and (seed.expected_vip is None or seed.expected_vip == vip)
    out.seed_agrees = agrees
    if not agrees:
        obs = set(fenced) == set(seed.observed_fenced) and (seed.observed_vip is None or seed.observed_vip == vip)
        out.notes.append(
            f"seed's plan disagrees with the scheduler (plan: fence {sorted(plan_fenced) or 'none'}, VIP on "
            f"{seed.expected_vip or '-'}; scheduler: fence {sorted(set(fenced)) or 'none'}, VIP on {vip or '-'})"
            + ("; the seed's own run agrees with the scheduler" if obs else "; the seed's own run differs too"))


# ---- the scenarios ------------------------------------------------------------------------------
class Scenarios:
    def __init__(self, config: StackConfig, hv_cib: str, guest_cib: str | None):
        self.config = config
        self.hv_cib, self.guest_cib = hv_cib, guest_cib
        self.topology = stack_topology(config, hv_cib, guest_cib)
        self._layers: list[Layer] = []
        self._booted: dict[str, Layer] = {}  # booted once, cloned per scenario

    def close(self) -> None:
        for layer in self._layers:
            layer.close()

    def _hv(self) -> Layer:
        if "hv" not in self._booted:
            self._booted["hv"] = self._keep(boot_hypervisor(self.hv_cib, self.topology))
        return self._keep(self._booted["hv"].clone())

    def _guest(self, primary: str | None = None) -> Layer:
        primary = primary or self.topology.guest_primary
        if primary not in self._booted:
            self._booted[primary] = self._keep(boot_guest(self.guest_cib, self.topology, primary))
        return self._keep(self._booted[primary].clone())

    def _keep(self, layer: Layer) -> Layer:
        self._layers.append(layer)
        return layer

    def outcome(self, sid: str, title: str, expectation: str) -> Outcome:
        seed = SEED.get(sid) if self._seed_names() else None
        return Outcome(sid, title, expectation, seed=seed)

    def _seed_names(self) -> bool:
        return SEED_NODES <= {short_name(n) for n in self.topology.hv_nodes + self.topology.guest_nodes}

    # -- guest-layer scenarios ------------------------------------------------------------------
    def a1(self) -> Outcome:
        f = self.topology
        active = f.guest_primary
        other = f.other(f.guest_nodes, active)
        out = self.outcome("A1", f"standby of the active guest {active}",
                           f"no fence; the guest chain hands off {active} -> {other} in order")
        guest = self._guest()
        run = run_events(guest, f"guest ({active} standby)", prepare=lambda l: l.node_attribute(active, "standby", "on"))
        out.runs["guest"] = run
        out.check("no fencing", not run.fenced, f"fenced: {run.fenced}")
        out.check(f"guest chain on {other}", _guest_stack_on(f, run.after) == [other],
                  f"VIP on {_on(run.after, f.vip)}")
        _chain_checks(out, run, f, active, other)
        _seed_compare(out, run.fenced, (_on(run.after, f.vip) or [None])[0])
        return out

    def _partition(self, sid: str, active: str) -> Outcome:
        f = self.topology
        survivor, loser = f.guest_survivor, None
        title = f"guest partition, {'active' if active != survivor else 'standby'} node partitioned"
        if survivor is None:
            out = self.outcome(sid, title, "exactly one guest fence device carries the tiebreaker delay")
            out.check("tiebreaker decides the partition", False, f"guest: {f.guest_delay}: both sides would shoot")
            return out
        loser = f.other(f.guest_nodes, survivor)
        moves = active == loser
        out = self.outcome(sid, title, (
            f"{f.guest_delay} -> {survivor} survives: {survivor} fences {loser}; "
            + (f"guest chain moves to {survivor}" if moves else f"guest chain stays on {survivor}")
            + f"; the hypervisor layer restarts {f.guest_vm[loser]} in place"))
        guest = self._guest(active)
        loser_view = self._keep(guest.clone())
        run = run_events(guest, f"guest ({survivor}'s side)", "-f", loser)
        out.runs["guest"] = run
        out.check(f"{survivor} fences {loser} only", run.fenced == [loser], f"fenced: {run.fenced}")
        out.check(f"guest chain on {survivor}", _guest_stack_on(f, run.after) == [survivor],
                  f"VIP on {_on(run.after, f.vip)}")
        if moves:
            _fence_first(out, run, loser, [("promote", f.guest_drbd, survivor),
                                           *[("start", rid, survivor) for rid in f.guest_chain]])
        else:
            out.check("the VIP never moves", not run.ops("stop", f.vip) and not run.ops("start", f.vip),
                      "no stop/start of the VIP")
        other = run_events(loser_view, f"guest ({loser}'s side)", "-f", survivor)
        out.runs["guest-loser"] = other
        out.check(f"{loser}'s side would shoot {survivor} too (the delay decides)", other.fenced == [survivor],
                  f"{loser} schedules fence {other.fenced}; {fence_device_id(survivor)} waits first")
        self._guest_fence_is_vm_kill(out, loser)
        _seed_compare(out, run.fenced, (_on(run.after, f.vip) or [None])[0])
        if self._seed_names() and active != f.guest_primary:
            out.notes.append(f"run as the seed ran it: {active} active before the partition")
        return out

    def _guest_fence_is_vm_kill(self, out: Outcome, guest_node: str, hv: Layer | None = None,
                                key: str = "hypervisor") -> None:
        """The guest fence is `virsh destroy` of that guest's VM: the hypervisor sees a failed monitor."""
        f = self.topology
        vm = f.guest_vm[guest_node]
        hv = hv or self._hv()
        node = _on(hv.status(), vm)[0]
        run = run_events(hv, f"hypervisor ({vm} killed on {node})", "-i", f"{vm}_monitor_{f.vm_monitor_ms[vm]}@{node}=7")
        out.runs[key] = run
        out.check(f"hypervisor restarts {vm} in place on {node}, no fence",
                  not run.fenced and _on(run.after, vm) == [node] and node in run.ops("start", vm),
                  f"fenced {run.fenced}; {vm} on {_on(run.after, vm)}")

    def a2a(self) -> Outcome:
        f = self.topology
        survivor = f.guest_survivor or f.guest_nodes[-1]
        return self._partition("A2a", f.other(f.guest_nodes, survivor))

    def a2b(self) -> Outcome:
        f = self.topology
        return self._partition("A2b", f.guest_survivor or f.guest_nodes[0])

    def a3(self) -> Outcome:
        f = self.topology
        killed = f.guest_primary
        other = f.other(f.guest_nodes, killed)
        vm = f.guest_vm[killed]
        out = self.outcome("A3", f"hard kill of the active guest's VM ({vm})", (
            f"{other} fences {killed} (whatever the delay: {killed} is dead) and takes over; the hypervisor "
            f"restarts {vm} in place"))
        guest = self._guest()
        run = run_events(guest, f"guest ({killed} lost)", "-f", killed)
        out.runs["guest"] = run
        out.check(f"{other} fences {killed}", run.fenced == [killed], f"fenced {run.fenced}")
        out.check(f"guest chain on {other}", _guest_stack_on(f, run.after) == [other], f"VIP on {_on(run.after, f.vip)}")
        _fence_first(out, run, killed, [("promote", f.guest_drbd, other), *[("start", r, other) for r in f.guest_chain]])
        self._guest_fence_is_vm_kill(out, killed)
        _seed_compare(out, run.fenced, (_on(run.after, f.vip) or [None])[0])
        return out

    def a4(self) -> Outcome:
        f = self.topology
        active, pgsql, vip = f.guest_primary, f.guest_pgsql, f.vip
        at = f.guest_chain.index(pgsql)
        below, above = f.guest_chain[:at], f.guest_chain[at + 1:]  # the links pgsql starts after, and before
        after, s = ", ".join(above), "s" if len(above) == 1 else ""
        threshold = f.guest_migration_threshold
        out = self.outcome("A4", f"PostgreSQL killed on the active guest {active}", (
            f"no fence; {after} stop{s}, {pgsql} restarts on {active}, {after} start{s} again (failure 1 of "
            f"migration-threshold {threshold or 'INFINITY'})"))
        guest = self._guest()
        run = run_events(guest, f"guest ({pgsql} monitor fails on {active})",
                         "-i", f"{pgsql}_monitor_{f.pgsql_monitor_ms}@{active}=7")
        out.runs["guest"] = run
        out.check("no fencing", not run.fenced, f"fenced {run.fenced}")
        out.check(f"{pgsql} restarted in place", run.ops("stop", pgsql) == [active] and run.ops("start", pgsql) == [active])
        out.check(f"{after} stop{s} before and start{s} after",
                  all(run.happens_before(("stop", rid, active), ("stop", pgsql, active))
                      and run.happens_before(("start", pgsql, active), ("start", rid, active)) for rid in above))
        out.check(f"guest chain still on {active}", _guest_stack_on(f, run.after) == [active])
        out.check(f"DRBD and {'the filesystem' if below == f.guest_chain[:1] else ', '.join(below)} untouched",
                  not run.ops("demote", f.guest_drbd) and not any(run.ops("stop", rid) for rid in below))
        _seed_compare(out, run.fenced, None)
        if threshold:
            # The same failure `threshold` times in a row moves the chain: show where the line is.
            more = self._keep(guest.clone())
            for _ in range(threshold - 1):
                more.settle("-i", f"{pgsql}_monitor_{f.pgsql_monitor_ms}@{active}=7")
            out.notes.append(f"after {threshold} failures (migration-threshold) the chain moves: VIP on "
                             f"{_on(more.status(), vip)}")
        return out

    # -- hypervisor-layer scenarios -------------------------------------------------------------
    def _home(self) -> str:
        """The hypervisor that runs the active guest (the seed's node1)."""
        f = self.topology
        if f.guest_primary:
            return f.vms[f.guest_vm[f.guest_primary]]
        return f.hv_nodes[0]

    def h1(self) -> Outcome:
        f = self.topology
        node = self._home()
        other = f.other(f.hv_nodes, node)
        hv = self._hv()
        vms = _vms_on(hv.status(), f, node)
        out = self.outcome("H1", f"standby of hypervisor {node}",
                           f"no fence; {', '.join(vms)} stop on {node}, DRBD demotes there, promotes on {other}, "
                           f"the VMs start on {other}")
        run = run_events(hv, f"hypervisor ({node} standby)", prepare=lambda l: l.node_attribute(node, "standby", "on"))
        out.runs["hypervisor"] = run
        out.check("no fencing", not run.fenced, f"fenced {run.fenced}")
        out.check(f"every VM of {node} on {other}", _vms_on(run.after, f, other) == sorted(f.vms),
                  f"on {other}: {_vms_on(run.after, f, other)}")
        missing = []
        for vm in vms:
            drbd = f.hv_drbd[list(f.vms).index(vm)]
            for a, b in ((("stop", vm, node), ("demote", drbd, node)), (("demote", drbd, node), ("promote", drbd, other)),
                         (("promote", drbd, other), ("start", vm, other))):
                if not run.happens_before(a, b):
                    missing.append(f"{a[0]} {a[1]}@{a[2]} -> {b[0]} {b[1]}@{b[2]}")
        out.check("stop -> demote -> promote -> start, per VM (graph edges)", not missing, ", ".join(missing))
        if f.guest_nodes:
            out.notes.append(f"the guest on {node} shuts down cleanly (ACPI): the guest cluster sees a departure, "
                             "not a loss, and fences nothing (not a scheduler fact: libvirt's stop is a shutdown)")
        _seed_compare(out, run.fenced, None)
        return out

    def _host_loss(self, sid: str, title: str, lost: str, swap: bool, partition: bool) -> Outcome:
        f = self.topology
        survivor = f.other(f.hv_nodes, lost)
        hv = self._hv()
        if swap:
            hv.edit(lambda root: _move_delay(root, f.hv_nodes))
        delay_owner = tiebreaker(hv.sim.path.read_text())
        vms = _vms_on(hv.status(), f, lost)
        why = (f"{delay_owner[1]} -> {delay_owner[0]} survives" if partition else f"{lost} is off and cannot shoot")
        guests_lost = [g for g, vm in f.guest_vm.items() if vm in vms]
        out = self.outcome(sid, title, (
            f"{why}: {survivor} fences {lost}; {', '.join(vms)} start on {survivor}"
            + (f"; the guest cluster fences {', '.join(guests_lost)} (a second kill of the restarted VM), the "
               f"hypervisor restarts it in place" if guests_lost else "")))
        if partition and delay_owner[0] != survivor:
            out.check("the tiebreaker favours the survivor", False,
                      f"{delay_owner[1]}: {delay_owner[0]} would survive, not {survivor}")
            return out
        loser_view = self._keep(hv.clone()) if partition else None
        run = run_events(hv, f"hypervisor ({survivor}'s side)", "-f", lost)
        out.runs["hypervisor"] = run
        out.check(f"{survivor} fences {lost} only", run.fenced == [lost], f"fenced {run.fenced}")
        out.check(f"every VM on {survivor}", _vms_on(run.after, f, survivor) == sorted(f.vms),
                  f"on {survivor}: {_vms_on(run.after, f, survivor)}")
        takeover = [(op, rid, survivor) for vm in vms for op, rid in
                    (("promote", f.hv_drbd[list(f.vms).index(vm)]), ("start", vm))]
        _fence_first(out, run, lost, takeover)
        untouched = [vm for vm in f.vms if vm not in vms and (run.ops("stop", vm) or run.ops("start", vm))]
        out.check(f"VMs already on {survivor} untouched", not untouched, f"touched: {untouched}")
        if loser_view is not None:
            other = run_events(loser_view, f"hypervisor ({lost}'s side)", "-f", survivor)
            out.runs["hypervisor-loser"] = other
            out.check(f"{lost}'s side would shoot {survivor} too (the delay decides)", other.fenced == [survivor],
                      f"{lost} schedules fence {other.fenced}")
        vip_node = None
        fenced_all = list(run.fenced)
        if f.guest_nodes and len(guests_lost) == len(f.guest_nodes):
            out.notes.append(f"every guest ran on {lost}: no guest is left to fence; the guest cluster restarts "
                             f"from scratch when its VMs start on {survivor} (service down meanwhile)")
        elif f.guest_nodes:
            guest = self._guest()
            active_before = _guest_stack_on(f, guest.status())
            for g in guests_lost:
                other_guest = f.other(f.guest_nodes, g)
                grun = run_events(guest, f"guest ({g}'s VM lost)", "-f", g)
                out.runs["guest"] = grun
                fenced_all += grun.fenced
                out.check(f"guest cluster: {other_guest} fences {g}", grun.fenced == [g], f"fenced {grun.fenced}")
                self._guest_fence_is_vm_kill(out, g, hv, key="hypervisor-again")
            after = _guest_stack_on(f, guest.status())
            vip_node = after[0] if after else None
            expected_vip = (f.other(f.guest_nodes, active_before[0]) if active_before and active_before[0] in guests_lost
                            else active_before[0] if active_before else None)
            out.check(f"guest chain on {expected_vip}", after == [expected_vip], f"VIP on {after}")
        _seed_compare(out, fenced_all, vip_node)
        return out

    def h2a(self) -> Outcome:
        f = self.topology
        if f.hv_survivor is None:
            out = self.outcome("H2a", "hypervisor partition", "exactly one hypervisor fence device carries the delay")
            out.check("tiebreaker decides the partition", False, f"hypervisor: {f.hv_delay}")
            return out
        lost = f.other(f.hv_nodes, f.hv_survivor)
        home = self._home()
        where = "it hosts the active guest" if lost == home else f"the active guest runs on {home}"
        return self._host_loss("H2a", f"hypervisor partition; {lost} loses the tiebreaker ({where})",
                               lost, swap=False, partition=True)

    def h2b(self) -> Outcome:
        f = self.topology
        if f.hv_survivor is None:
            out = self.outcome("H2b", "hypervisor partition", "exactly one hypervisor fence device carries the delay")
            out.check("tiebreaker decides the partition", False, f"hypervisor: {f.hv_delay}")
            return out
        out = self._host_loss("H2b", f"hypervisor partition with the delay moved (as the seed did): "
                                     f"{f.hv_survivor} loses", f.hv_survivor, swap=True, partition=True)
        out.notes.append(f"the CIB's delay was moved from {fence_device_id(f.hv_survivor)} to "
                         f"{fence_device_id(f.other(f.hv_nodes, f.hv_survivor))} for this scenario only")
        return out

    def h3(self) -> Outcome:
        f = self.topology
        node = self._home()
        out = self._host_loss("H3", f"power-off of hypervisor {node}", node, swap=False, partition=False)
        # Lost promotion scores: had the survivor's copies been Outdated (DRBD fencing withdrew their
        # promotion score), the scheduler must leave those VMs down rather than start them on stale data.
        survivor = f.other(f.hv_nodes, node)
        hv = self._hv()
        vms = _vms_on(hv.status(), f, node)
        drbds = [f.hv_drbd[list(f.vms).index(vm)] for vm in vms]
        hv.edit(lambda root: _drop_attributes(root, survivor, [f"master-{d}" for d in drbds]))
        run = run_events(hv, f"hypervisor ({node} off, {survivor}'s copies Outdated)", "-f", node)
        out.runs["whatif-outdated"] = run
        started = [vm for vm in vms if _on(run.after, vm)]
        out.check(f"with {survivor}'s copies Outdated (no promotion score) nothing promotes and "
                  f"{', '.join(vms)} stay down", run.fenced == [node] and not started
                  and not any(run.ops("promote", d) for d in drbds), f"started anyway: {started}")
        return out

    # -- failback -------------------------------------------------------------------------------
    def failback_hyp(self) -> Outcome:
        f = self.topology
        node = self._home()
        other = f.other(f.hv_nodes, node)
        hv = self._hv()
        vms = _vms_on(hv.status(), f, node)
        worst = max((f.hv_location[v] for v in vms), default=0)
        back = f.hv_failback == "allowed"
        out = self.outcome("FB-hyp", f"{node} returns after its loss (failback declared '{f.hv_failback}')", (
            f"{', '.join(vms)} " + (f"return to {node}" if back else f"stay on {other}")
            + f" (declared failback '{f.hv_failback}'; stickiness {f.hv_stickiness} vs location {worst})"))
        run_events(hv, "loss", "-f", node)
        counterfactual = self._keep(hv.clone())
        run = run_events(hv, f"hypervisor ({node} back, DRBD resynced)", "-u", node,
                         prepare=None)
        hv.set_attributes({node: {f"master-{d}": PROMOTION for d in f.hv_drbd}})
        rest = run_events(hv, f"hypervisor ({node} back, DRBD resynced)", before=run.before)
        rest.steps = run.steps + rest.steps
        out.runs["hypervisor"] = rest
        home = sorted(vm for vm in vms if _on(rest.after, vm) == [node])
        out.check(f"VMs {'return to ' + node if back else 'stay on ' + other}",
                  home == (vms if back else []), f"on {node}: {home}")
        out.check("no fencing on return", not rest.fenced, f"fenced {rest.fenced}")
        # What the seed's fix (stickiness above the location score) would have done.
        fixed = worst + 1

        def set_stickiness(layer: Layer) -> None:
            layer.edit(lambda root: _set_default(root, "resource-stickiness", str(fixed)))
        counterfactual.settle("-u", node)
        set_stickiness(counterfactual)
        counterfactual.set_attributes({node: {f"master-{d}": PROMOTION for d in f.hv_drbd}})
        counterfactual.settle()
        stayed = _vms_on(counterfactual.status(), f, other)
        out.check(f"with resource-stickiness={fixed} they would stay on {other}", set(vms) <= set(stayed),
                  f"on {other}: {stayed}")
        if back:
            out.notes.append(f"stickiness {f.hv_stickiness} lets them fail back, as declared (the seed set 1 meaning to "
                             f"prevent failback; {fixed} or more would have)")
        return out

    def failback_guest(self) -> Outcome:
        f = self.topology
        survivor = f.guest_survivor or f.guest_nodes[-1]
        loser = f.other(f.guest_nodes, survivor)
        back = f.guest_failback == "allowed"
        out = self.outcome("FB-guest", f"{loser} rejoins after its fence (failback declared '{f.guest_failback}')",
                           f"{loser} rejoins Unpromoted; the guest chain stays on {survivor} (no location preference; "
                           f"stickiness keeps it)" if not back else f"the chain may move back to {loser}")
        guest = self._guest(loser)
        run_events(guest, "partition", "-f", loser)
        run = run_events(guest, f"guest ({loser} back)", "-u", loser)
        guest.set_attributes({loser: {f"master-{f.guest_drbd}": PROMOTION}})
        rest = run_events(guest, f"guest ({loser} back, resynced)", before=run.before)
        rest.steps = run.steps + rest.steps
        out.runs["guest"] = rest
        if not back:
            out.check(f"chain stays on {survivor}", _guest_stack_on(f, rest.after) == [survivor],
                      f"VIP on {_on(rest.after, f.vip)}")
            out.check(f"{loser} Unpromoted", _on(rest.after, f.guest_drbd, "Unpromoted") == [loser])
        return out

    def all(self) -> dict:
        return {"A1": self.a1, "A2a": self.a2a, "A2b": self.a2b, "A3": self.a3, "A4": self.a4, "H1": self.h1,
                "H2a": self.h2a, "H2b": self.h2b, "H3": self.h3, "FB-guest": self.failback_guest,
                "FB-hyp": self.failback_hyp}


def _move_delay(root: ET.Element, nodes: list[str]) -> None:
    """Move pcmk_delay_* from the device that has it to the other one (the seed's H2b swap)."""
    devices = [p for p in root.iter("primitive") if p.get("class") == "stonith"]
    have = [p for p in devices if any(nv.get("name", "").startswith("pcmk_delay") for nv in p.iter("nvpair"))]
    if len(have) != 1 or len(devices) != 2:
        raise HastackError("SIMULATE_SWAP", "the tiebreaker swap needs two devices, one with a delay")
    source, target = have[0], next(d for d in devices if d is not have[0])
    src_attrs = source.find("instance_attributes")
    dst_attrs = target.find("instance_attributes")
    for nv in [nv for nv in src_attrs.findall("nvpair") if nv.get("name", "").startswith("pcmk_delay")]:
        src_attrs.remove(nv)
        nv.set("id", f"{target.get('id')}-instance_attributes-{nv.get('name')}")
        dst_attrs.append(nv)


def _drop_attributes(root: ET.Element, node: str, names: list[str]) -> None:
    """Remove transient node attributes (what `crm_master -D` does when DRBD's disk is not UpToDate)."""
    for state in root.iter("node_state"):
        if state.get("uname") != node:
            continue
        for attrs in state.iter("instance_attributes"):
            for nv in [nv for nv in attrs.findall("nvpair") if nv.get("name") in names]:
                attrs.remove(nv)


def _set_default(root: ET.Element, name: str, value: str) -> None:
    defaults = root.find("configuration/rsc_defaults/meta_attributes")
    for nv in defaults.findall("nvpair"):
        if nv.get("name") == name:
            nv.set("value", value)
            return
    ET.SubElement(defaults, "nvpair", id=f"rsc_defaults-{name}", name=name, value=value)


# ---- running and printing -----------------------------------------------------------------------
def run_scenarios(config: StackConfig, render_dir: Path, only: list[str] | None = None) -> list[Outcome]:
    hv_cib = (render_dir / "hypervisor" / "cib.xml").read_text()
    guest_path = render_dir / "guest" / "cib.xml"
    guest_cib = guest_path.read_text() if guest_path.exists() and config.guest is not None else None
    scenarios = Scenarios(config, hv_cib, guest_cib)
    try:
        table = scenarios.all()
        wanted = only or list(ORDER)
        unknown = [s for s in wanted if s not in table]
        if unknown:
            raise HastackError("SIMULATE_SCENARIO", f"unknown scenario(s) {unknown}; choose from {list(ORDER)}")
        outcomes = []
        for sid in wanted:
            if guest_cib is None and sid.startswith(("A", "FB-guest")):
                outcome = Outcome(sid, "guest scenario", "stack has no guest cluster")
                outcome.notes.append("skipped: no guest cluster in this stack")
                outcomes.append(outcome)
                continue
            outcomes.append(table[sid]())
        return outcomes
    finally:
        scenarios.close()


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


DOUBLE_FENCING = """\
Double fencing (H2a, H2b, H3).  The scheduler shows each step of the seed's two-layer sequence:
(1) the hypervisor cluster fences the lost host and starts its VMs on the survivor; (2) the guest
cluster, having lost the guest that ran there, fences it; (3) that fence is `virsh destroy` of the
VM, which the hypervisor cluster sees as a failed monitor and answers with an in-place restart, no
fence.  What it cannot show is time and the agent: each layer's transition is computed from its own
CIB, and a fence is one atomic success to the scheduler.  In fact fence_pgrestart only succeeds on a
confirmed destroy, or when every hypervisor is known to be without the VM: it answers "absent", or
it cannot be reached and the survivor's quorate cluster holds it offline and clean.  While the old
host is unclean (lost, not yet fenced) the guest fence therefore fails and Pacemaker retries it; once
the hypervisor layer has fenced the host, the guest fence succeeds without a kill if the VM has not
yet been restarted on the survivor, and destroys that new instance if it has (the seed's harmless
second kill: the service moved at step 2; the VM is a standby being restarted).  The guest fence
timeout must outlast the hypervisor's fence + promote + VM start, which the policy pack's
guest-fence-timeout rule checks against the VM's stop + start timeouts.  In A2a/A3 the host stays up, so the guest
fence either finds the VM already dead ("absent" everywhere: one kill) or, if the hypervisor has
restarted it first, kills it once more."""


def render_report(outcomes: list[Outcome], stack: str) -> str:
    lines = [f"hastack simulate --stack {stack}: the real scheduler (crm_simulate) on the rendered CIBs", ""]
    header = f"{'#':<9}{'seed expects':<44}{'scheduler decides':<78}{'result'}"
    lines += [header, "-" * len(header)]
    for o in outcomes:
        seed = o.seed.expected if o.seed else "-"
        verdict = ("ok" if o.checks else "skipped") if o.ok else "FAIL"
        if o.seed_agrees is False:
            verdict += " (seed plan differs)"
        lines.append(f"{o.id:<9}{_cell(seed, 42):<44}{_cell(o.short() or '-', 76):<78}{verdict}")
    lines.append("")
    for o in outcomes:
        lines.append(f"{o.id}: {o.title}  [{('ok' if o.checks else 'skipped') if o.ok else 'FAIL'}]")
        if o.seed:
            lines.append(f"  seed action    : {o.seed.action}")
            lines.append(f"  seed expected  : {o.seed.expected}")
            lines.append(f"  seed observed  : {o.seed.observed}")
        lines.append(f"  this stack     : {o.expectation}")
        for run in o.runs.values():
            lines.append(f"  scheduler      : {run.label}: {run.describe()}")
        for c in o.checks:
            lines.append(f"    {'ok  ' if c.ok else 'FAIL'} {c.what}" + (f" -- {c.detail}" if c.detail else ""))
        for note in o.notes:
            lines.append(f"    note: {note}")
        lines.append("")
    lines.append(DOUBLE_FENCING)
    failed = [o.id for o in outcomes if not o.ok]
    lines += ["", f"{len(outcomes) - len(failed)}/{len(outcomes)} scenarios as the stack expects"
              + (f"; FAILED: {', '.join(failed)}" if failed else "")]
    return "\n".join(lines)


def main(args, render) -> int:
    """`render(config, stack, out)` writes the stack's artefacts (the program's, one layer up)."""
    from hastack.config.load import load_stack

    started = time.monotonic()
    config = load_stack(args.stack)
    reuse = os.environ.get("HASTACK_SIMULATE_RENDER")
    tmp = None
    if reuse:
        render_dir = Path(reuse)
    else:
        tmp = tempfile.mkdtemp(prefix="hastack-simulate-")
        render_dir = Path(tmp) / args.stack
        render(config, args.stack, render_dir)
    rendered = time.monotonic()
    try:
        outcomes = run_scenarios(config, render_dir, args.scenario)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(render_report(outcomes, args.stack))
    print(f"(render {rendered - started:.0f}s, scenarios {time.monotonic() - rendered:.0f}s)", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1
