"""`python -m hastack drill`: the seed's failures, injected into a live stack and measured.

Per scenario: refuse unless both clusters are healthy; put the database on the guest the seed
had it on; start the client (an INSERT through the VIP and a ping of each host, once a second,
from the hypervisor the failure does not touch, or from `drills.client_on`); inject; wait until both layers are back at full
redundancy (or the stack's `drills.recover_limit` passes); undo what the drill placed; read the
clusters' journals.  Checks: no acknowledged row missing, nothing left failed, no constraint left
by the drill or by DRBD's fence handler, and every node online with everything started.
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from hastack.config.models import StackConfig, duration_ms
from hastack.drill import timeline
from hastack.drill.client import site_for
from hastack.drill.scenarios import SCENARIOS, Scenario
from hastack.facts.host import PROC_DRBD, parse_proc_drbd, replication_problem
from hastack.facts.status import HANDLER_CONSTRAINT_PREFIX, fence_successes, healthy_on, parse_crm_mon, running_on
from hastack.layout import drbd_clone_id, drbd_primitive_id, fence_device_id, guest_objects, vm_resource_id
from hastack.reports import HastackError

DB, ROLE = "hastack_drill", "hastack_drill"
CLIENT = r"""#!/bin/bash
# hastack drill client: one INSERT through the VIP and one ping of each host per second.
set -u
export PGPASSFILE=%(work)s/pgpass PGCONNECT_TIMEOUT=1
while [ ! -e %(work)s/stop ]; do
  ts=$(date +%%s.%%N)
  sql=$(timeout 5 psql -h %(vip)s -U %(role)s -d %(db)s -Atq -c "INSERT INTO drill_rows (run) VALUES ('%(run)s') RETURNING id" 2>&1 | tr '\n]' '  ')
  p=""
  for a in %(pings)s; do ping -c1 -W1 -q "$a" >/dev/null 2>&1 && p="$p 1" || p="$p 0"; done
  echo "$ts sql=[$sql] ping=$p"
  sleep 1
done
"""
PARTITION = ("iptables -N HASTACK-DRILL 2>/dev/null; iptables -F HASTACK-DRILL; "
             'for a in "$@"; do iptables -A HASTACK-DRILL -p udp -s "$a" -j DROP; '
             'iptables -A HASTACK-DRILL -p udp -d "$a" -j DROP; done; '
             "iptables -C INPUT -j HASTACK-DRILL 2>/dev/null || iptables -I INPUT -j HASTACK-DRILL; "
             "iptables -C OUTPUT -j HASTACK-DRILL 2>/dev/null || iptables -I OUTPUT -j HASTACK-DRILL")
UNPARTITION = ("iptables -D INPUT -j HASTACK-DRILL 2>/dev/null; iptables -D OUTPUT -j HASTACK-DRILL 2>/dev/null; "
               "iptables -F HASTACK-DRILL 2>/dev/null; iptables -X HASTACK-DRILL 2>/dev/null; true")
NO_ANSWER = "no node answers"
# Each poll is a crm_mon, a cibadmin and a /proc/drbd read per layer, ~1.2 s of CPU on an
# emulated host (measured 2026-12-02): a poll every 5 s took a quarter of its one vCPU while its
# monitors were timing out.  The client's own log, not these polls, times the SQL disruption.
POLL_FAILOVER_S, POLL_HEALTH_S = 10, 20
JOURNAL_TAGS = ("pacemaker-controld", "pacemaker-fenced", "crm-fence-peer.sh", "crm-unfence-peer.sh",
                "crm-fence-peer.9.sh", "crm-unfence-peer.9.sh")


class Hosts:
    """One SSH transport per node of both layers, by the config's node name (short waits: a
    drill expects hosts to vanish)."""

    def __init__(self, config: StackConfig):
        from hastack.transport.ssh import SshTarget, SshTransport

        self.nodes = {n.name: n for n in config.hypervisor.nodes}
        if config.guest is not None:
            self.nodes.update({n.name: n for n in config.guest.nodes})
        self._t = {}
        for name, node in self.nodes.items():
            ssh = node.ssh.model_dump(mode="json", exclude_none=True, exclude={"private_key"})
            if node.ssh.private_key is not None:
                ssh["private_key"] = node.ssh.private_key.get_secret_value()
            ssh["connect_wait"] = 0
            self._t[name] = SshTransport(SshTarget.from_props(name, ssh), connect_timeout=10)

    def run(self, name: str, argv: list[str], stdin: bytes | None = None, ok_rc=(0,), secret_stdin=False) -> str:
        return self._t[name].run(argv, stdin, ok_rc=ok_rc, secret_stdin=secret_stdin).stdout

    def sh(self, name: str, script: str, *args: str, ok_rc=(0,)) -> str:
        return self.run(name, ["sh", "-c", script, "sh", *args], ok_rc=ok_rc)

    def answers(self, name: str) -> bool:
        try:
            return self._t[name].reachable()
        except HastackError:
            return False

    def put(self, name: str, path: str, content: bytes, mode: int = 0o644) -> None:
        self._t[name].put(path, content, mode)

    def close(self) -> None:
        for t in self._t.values():
            t.close()


@dataclass
class Roles:
    """Who plays the seed's pg1/pg2/node1/node2 in this run (config node names)."""

    guest0: str
    guest1: str
    hv0: str
    hv1: str


@dataclass
class Result:
    scenario: str
    title: str
    roles: dict
    t0: float = 0.0
    recovered_s: float | None = None
    sql: timeline.Disruption | None = None
    pings: dict = field(default_factory=dict)  # host -> [(down, back)]
    fenced: list[str] = field(default_factory=list)  # "layer: node" of every successful fence
    events: list[timeline.Event] = field(default_factory=list)
    samples: list[timeline.Sample] = field(default_factory=list)
    acknowledged: int = 0
    lost: list[int] = field(default_factory=list)
    failed_actions: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    predicted: str = ""
    findings: list[str] = field(default_factory=list)  # what the checks do not judge, e.g. where VMs ran again

    @property
    def ok(self) -> bool:
        return all(ok for _what, ok, _detail in self.checks)

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append((what, bool(ok), detail))

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "title": self.title, "roles": self.roles, "t0": self.t0,
                "recovered_s": self.recovered_s, "ok": self.ok,
                "sql": None if self.sql is None else vars(self.sql), "pings": self.pings, "fenced": self.fenced,
                "acknowledged": self.acknowledged, "lost": self.lost, "failed_actions": self.failed_actions,
                "checks": [{"what": w, "ok": o, "detail": d} for w, o, d in self.checks],
                "predicted": self.predicted, "findings": self.findings, "events": [e.as_dict() for e in self.events],
                "samples": [vars(s) for s in self.samples]}


class Drill:
    def __init__(self, config: StackConfig, hosts: Hosts, log=print):
        if config.guest is None:
            raise HastackError("DRILL_NO_GUEST", "the seed's drills need the guest layer (guest:) in the stack")
        self.config, self.h, self.log = config, hosts, log
        self.hv_nodes = [n.name for n in config.hypervisor.nodes]
        self.guest_nodes = [n.name for n in config.guest.nodes]
        self.layers = {"hypervisor": self.hv_nodes, "guest": self.guest_nodes}
        self.objects = guest_objects(config.guest)
        self.chain = [spec.id for spec in self.objects.chain]
        self.pcmk = {n.name: n.pacemaker_name for n in config.hypervisor.nodes}
        self.pcmk.update({n.name: n.pacemaker_name for n in config.guest.nodes})
        self.by_pcmk = {v: k for k, v in self.pcmk.items()}
        self.limit_s = duration_ms(config.drills.recover_limit) / 1000
        self.password = secrets.token_hex(16)

    # ---- cluster state -------------------------------------------------------------------------
    def _ask_layer(self, layer: str, argv: list[str]) -> str | None:
        """`argv`'s output from the first node of `layer` that answers; None if none does.  A node
        may die between the answer and the command: that is the injected failure, not the drill's."""
        for node in self.layers[layer]:
            if self.h.answers(node):
                try:
                    return self.h.run(node, argv)
                except HastackError:
                    continue
        return None

    def views(self, layer: str) -> list[dict]:
        """What every node of `layer` that answers sees (a partition gives each side its own),
        each with its fencer history under "fenced" (one crm_mon per node gives both)."""
        views = []
        for node in self.layers[layer]:
            if self.h.answers(node):
                try:
                    xml = self.h.run(node, ["crm_mon", "-1", "--output-as=xml", "--include=fencing-succeeded"])
                except HastackError:
                    continue
                views.append({**parse_crm_mon(xml), "fenced": fence_successes(xml)})
        return views

    def fences(self, views: list[dict] | None = None) -> dict[str, set[str]]:
        """Successful fences per node, as every answering node of both layers knows them (a node
        that was itself fenced comes back without the history until it syncs)."""
        done: dict[str, set[str]] = {}
        for view in views if views is not None else self.views("guest") + self.views("hypervisor"):
            for target, completed in view["fenced"].items():
                done.setdefault(target, set()).update(completed)
        return done

    def status(self, layer: str) -> dict | None:
        text = self._ask_layer(layer, ["crm_mon", "-1", "--output-as=xml"])
        return None if text is None else parse_crm_mon(text)

    def constraints(self, layer: str) -> str | None:
        return self._ask_layer(layer, ["cibadmin", "--query", "--scope", "constraints"])

    def unhealthy(self, failures: bool = True) -> list[str]:
        """What keeps the stack from full redundancy (empty when it is there).  `failures`: also
        count failed actions (a recovery leaves the monitor failure that detected the fault)."""
        problems = []
        for layer, resources in (("hypervisor", [vm_resource_id(v.name) for v in self.config.vms]),
                                 ("guest", self.chain)):
            status = self.status(layer)
            if status is None:
                problems.append(f"{layer}: {NO_ANSWER}")
                continue
            for node, state in status["nodes"].items():
                if not state["online"] or state["standby"] or state["unclean"]:
                    problems.append(f"{layer}: {node} is not an online member")
            for rid in resources:
                if not healthy_on(status, rid):
                    problems.append(f"{layer}: {rid} is not running")
            clones = [drbd_primitive_id(v.name) for v in self.config.vms] if layer == "hypervisor" else \
                [drbd_primitive_id(self.config.guest.drbd.resource)]
            for drbd in clones:
                if len(running_on(status, drbd, "Promoted")) != 1 or len(running_on(status, drbd, "Unpromoted")) != 1:
                    problems.append(f"{layer}: {drbd} is not promoted on one node and unpromoted on the other")
            problems += self.leftovers(layer, status if failures else None)
            problems += self.replication_problems(layer)
        return problems

    def leftovers(self, layer: str, status: dict | None) -> list[str]:
        """What stays until someone clears it: failed actions (read from `status` when given) and
        constraints of the DRBD fence handler or of `crm_resource --move`."""
        problems = [f"{layer}: failed {f.get('op_key')} on {f.get('node')}" for f in (status or {}).get("failures", [])]
        text = self.constraints(layer)
        if text is None:
            return problems + [f"{layer}: {NO_ANSWER}"]
        for marker, what in ((HANDLER_CONSTRAINT_PREFIX, "DRBD fence handler's"), ('id="cli-', "crm_resource --move")):
            if marker in text:
                problems.append(f"{layer}: a {what} constraint is still in place")
        return problems

    def replication_problems(self, layer: str) -> list[str]:
        """Every DRBD device of `layer` connected with both copies UpToDate: a drill started during
        the first resync would fail over to an Inconsistent disk, which DRBD refuses to promote."""
        minors = {v.name: v.drbd_minor for v in self.config.vms} if layer == "hypervisor" else \
            {self.config.guest.drbd.resource: self.config.guest.drbd.minor}
        text = self._ask_layer(layer, list(PROC_DRBD))
        if text is None:
            return [f"{layer}: {NO_ANSWER}"]
        states = parse_proc_drbd(text)
        return [f"{layer}: DRBD {name} (minor {minor}) is {why}" for name, minor in minors.items()
                if (why := replication_problem(states, minor))]

    def wait_healthy(self, limit_s: float, say_every_s: float | None = None) -> float | None:
        start = said = time.monotonic()
        while time.monotonic() - start < limit_s:
            problems = self.unhealthy(failures=False)
            if not problems:
                return time.monotonic() - start
            if say_every_s is not None and time.monotonic() - said >= say_every_s:
                self.log(f"drill: waiting for full redundancy ({round(time.monotonic() - start)}s): {'; '.join(problems)}")
                said = time.monotonic()
            time.sleep(POLL_HEALTH_S)
        return None

    def settle(self) -> None:
        """Wait (up to the recover limit) for a stack that is converging, e.g. right after `up`
        with the first resync running; refuse at once for what waiting cannot mend."""
        failed = [p for layer in self.layers for p in self.leftovers(layer, self.status(layer))
                  if not p.endswith(NO_ANSWER)]  # a loaded host's SSH may time out once: waited for
        if not failed and self.wait_healthy(self.limit_s, say_every_s=60) is not None:
            return
        problems = failed or self.unhealthy()
        if problems:
            raise HastackError("DRILL_UNHEALTHY", "the stack is not healthy to begin with, so a drill would "
                               "measure nothing: " + "; ".join(problems) + (
                                   "" if failed else f" (after waiting {self.limit_s:.0f}s)"))

    def vms_on(self, node: str) -> list[str]:
        """The VM resources running on hypervisor `node` now."""
        status = self.status("hypervisor")
        return [vm_resource_id(v.name) for v in self.config.vms
                if status and self.pcmk[node] in running_on(status, vm_resource_id(v.name))]

    def where_guest_runs(self, guest: str) -> str | None:
        status = self.status("hypervisor")
        vm = next(n.vm for n in self.config.guest.nodes if n.name == guest)
        nodes = running_on(status, vm_resource_id(vm)) if status else []
        return self.by_pcmk.get(nodes[0]) if nodes else None

    def active_guest(self) -> str | None:
        status = self.status("guest")
        nodes = running_on(status, self.objects.vip.id) if status else []
        return self.by_pcmk.get(nodes[0]) if nodes else None

    def cleanup_failures(self) -> list[str]:
        shown = []
        for layer in self.layers:
            status = self.status(layer)
            if status and status["failures"]:
                shown += [f"{layer}: {f.get('op_key')} on {f.get('node')}: {f.get('exitreason') or f.get('status')}"
                          for f in status["failures"]]
                self._ask_layer(layer, ["crm_resource", "--cleanup"])
        return shown

    # ---- placement, client, database ---------------------------------------------------------
    def place_database(self, guest: str) -> None:
        """Move the database to `guest` (the seed's starting point) and clear the move again."""
        if self.active_guest() == guest:
            return
        self.log(f"drill: moving the database to {guest} first")
        clone = drbd_clone_id(self.config.guest.drbd.resource)
        other = next(n for n in self.guest_nodes if n != guest)
        self.h.run(other, ["crm_resource", "--move", "--resource", clone, "--promoted", "--node", self.pcmk[guest]])
        start = time.monotonic()
        while self.active_guest() != guest and time.monotonic() - start < self.limit_s:
            time.sleep(5)
        self.h.run(other, ["crm_resource", "--clear", "--resource", clone])
        if self.active_guest() != guest:
            raise HastackError("DRILL_PLACEMENT", f"the database did not move to {guest} within the recover limit")

    def psql(self, host: str, *args: str, stdin: bytes | None = None, secret_stdin: bool = False,
             ok_rc=(0,)) -> str:
        argv = ["runuser", "-u", "postgres", "--", "psql", "-qAt", "-v", "ON_ERROR_STOP=1", *args]
        return self.h.run(host, argv, stdin=stdin, secret_stdin=secret_stdin, ok_rc=ok_rc)

    def setup_database(self, primary: str) -> None:
        sql = (f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN "
               f"CREATE ROLE {ROLE} LOGIN; END IF; END$$;\n"
               f"ALTER ROLE {ROLE} PASSWORD '{self.password}';\n"
               f"SELECT 'CREATE DATABASE {DB} OWNER {ROLE}' WHERE NOT EXISTS "
               f"(SELECT FROM pg_database WHERE datname = '{DB}')\\gexec\n").encode()
        self.psql(primary, stdin=sql, secret_stdin=True)
        table = f"CREATE TABLE IF NOT EXISTS drill_rows (id bigserial PRIMARY KEY, run text, ts timestamptz DEFAULT now());\n" \
                f"ALTER TABLE drill_rows OWNER TO {ROLE};\n"
        self.psql(primary, "-d", DB, stdin=table.encode())

    def rows(self, run: str) -> set[int] | None:
        primary = self.active_guest()
        if primary is None:
            return None
        out = self.psql(primary, "-d", DB, "-c", f"SELECT id FROM drill_rows WHERE run = '{run}'")
        return {int(x) for x in out.split()}

    def ping_targets(self) -> list[tuple[str, str]]:
        nodes = list(self.config.guest.nodes) + list(self.config.hypervisor.nodes)
        return [(n.name, str(n.mgmt_address)) for n in nodes]

    def start_client(self, site, run: str) -> None:
        vip, work = str(self.config.guest.vip), site.work
        script = CLIENT % {"work": work, "vip": vip, "role": ROLE, "db": DB, "run": run,
                           "pings": " ".join(a for _n, a in self.ping_targets())}
        site.run(["sh", "-c", 'command -v psql >/dev/null && command -v ping >/dev/null || { echo "psql or ping is '
                  'missing in $1: install the PostgreSQL client and ping there (the drill client runs there)" >&2; '
                  'exit 1; }; mkdir -p -m 0700 "$2" && rm -f "$2/stop" "$2/client.log"', "sh", site.label, work])
        site.put(f"{work}/pgpass", f"{vip}:5432:{DB}:{ROLE}:{self.password}\n".encode(), 0o600)
        site.put(f"{work}/client.sh", script.encode(), 0o700)
        site.run(["sh", "-c", 'setsid bash "$1/client.sh" > "$1/client.log" 2>&1 < /dev/null &', "sh", work])

    @staticmethod
    def client_log(site) -> str:
        return site.run(["cat", f"{site.work}/client.log"])

    def client_samples(self, site) -> list[timeline.Sample]:
        try:
            return timeline.parse_samples(self.client_log(site))
        except HastackError:
            return []

    def client_writes(self, site, first: int = 3, within_s: float = 120) -> None:
        """The client must have had a few writes acknowledged before the failure, or nothing is
        measured.  Waited for: a database that has just moved may take a minute to answer."""
        start = time.monotonic()
        while True:
            text = self.client_log(site)
            if sum(s.row is not None for s in timeline.parse_samples(text)) >= first:
                return
            if time.monotonic() - start > within_s:
                break
            time.sleep(5)
        self.stop_client(site)
        raise HastackError("DRILL_CLIENT", f"the drill client in {site.label} had fewer than {first} INSERTs "
                           f"acknowledged through the VIP within {within_s:.0f}s before the failure; its log ends: "
                           f"{text.strip()[-500:] or '(empty)'}")

    def stop_client(self, site) -> str:
        site.run(["touch", f"{site.work}/stop"])
        time.sleep(4)
        text = self.client_log(site)
        site.run(["rm", "-f", f"{site.work}/pgpass"])
        return text

    def drop_database(self) -> None:
        primary = self.active_guest()
        if primary:
            # Best effort, as before: a database still in use stays until the next run drops it.
            self.psql(primary, "-c", f"DROP DATABASE IF EXISTS {DB}", "-c", f"DROP ROLE IF EXISTS {ROLE}",
                      ok_rc=(0, 1, 3))

    def journals(self, since: float) -> list[timeline.Event]:
        lists = []
        tags = [a for t in JOURNAL_TAGS for a in ("-t", t)]
        for layer, nodes in self.layers.items():
            for node in nodes:
                # A node that went down with the failure (or is still booting) is read twice at most;
                # its peer logged the same fences and takeovers.
                for _attempt in range(2):
                    try:
                        if self.h.answers(node):
                            text = self.h.run(node, ["journalctl", "--since", f"@{int(since) - 5}", "-o",
                                                     "short-iso-precise", "--no-pager", *tags], ok_rc=(0, 1))
                            lists.append(timeline.parse_journal(text, layer))
                        break
                    except HastackError as error:
                        self.log(f"drill: {node}'s journal could not be read ({error.code}); trying once more")
        return timeline.merge_events(*lists)

    # ---- injections ----------------------------------------------------------------------------
    def inject(self, name: str, roles: Roles) -> None:
        INJECTIONS[name](self, roles)

    def undo(self, name: str, roles: Roles) -> None:
        if name in UNDO:
            UNDO[name](self, roles)

    def _ring_addresses(self, layer: str, node: str) -> list[str]:
        nodes = self.config.hypervisor.nodes if layer == "hypervisor" else self.config.guest.nodes
        return [str(a) for n in nodes if n.name == node for a in n.ring_addresses]

    def _swap_tiebreaker(self, to_role_of: str, roles: Roles) -> None:
        """Put the fence delay on the device of `to_role_of`'s node (the seed's H2b swap)."""
        tb = self.config.hypervisor.tiebreaker
        target, other = (roles.hv0, roles.hv1) if to_role_of == "hv0" else (roles.hv1, roles.hv0)
        node = next(n for n in (roles.hv1, roles.hv0) if self.h.answers(n))
        for dev_node, delays in ((target, {"pcmk_delay_base": tb.delay_base, "pcmk_delay_max": tb.delay_max}),
                                 (other, None)):
            device = fence_device_id(dev_node)
            for param in ("pcmk_delay_base", "pcmk_delay_max"):
                if delays:
                    self.h.run(node, ["crm_resource", "--resource", device, "--set-parameter", param,
                                      "--parameter-value", delays[param]])
                else:
                    self.h.run(node, ["crm_resource", "--resource", device, "--delete-parameter", param], ok_rc=(0, 6, 105))


def _standby(d: Drill, via: str, node: str, on: bool) -> None:
    argv = ["crm_attribute", "--node", d.pcmk[node], "--name", "standby"]
    d.h.run(via, argv + (["--update", "on"] if on else ["--delete"]), ok_rc=(0,) if on else (0, 6, 105))


def _partition(d: Drill, layer: str, node: str, peer: str) -> None:
    """Both ring links of `node` cut from `peer` (UDP: corosync only; DRBD keeps replicating)."""
    d.h.sh(node, PARTITION, *d._ring_addresses(layer, peer))


def _destroy_domain(d: Drill, r: Roles) -> None:
    vm = next(n.vm for n in d.config.guest.nodes if n.name == r.guest0)
    d.h.run(r.hv0, ["virsh", "destroy", vm])


def _kill_postgres(d: Drill, r: Roles) -> None:
    d.h.sh(r.guest1, 'kill -9 "$(head -n1 "$1/postmaster.pid")"', d.config.guest.pgdata)


# Moving the delay redefines both fence devices, so both restart, and a fence waits for its device's
# restart: cut 5 s after the swap, hv0's fence of hv1 waited 3 min behind a slow device start and hv1
# fenced hv0 first (live, 2026-12-03).  The seed's operator swapped, then cut: the cut waits too.
SETTLE_TIMEOUT = "600s"


def _hypervisor_partition_swapped(d: Drill, r: Roles) -> None:
    d._swap_tiebreaker("hv0", r)  # hv0's own device waits: hv0 survives and fences hv1
    d.log("drill: waiting for both fence devices to restart with the swapped delay (crm_resource --wait)")
    d.h.run(r.hv0, ["crm_resource", "--wait", "--timeout", SETTLE_TIMEOUT])
    _partition(d, "hypervisor", r.hv0, r.hv1)


def _restore_tiebreaker(d: Drill, r: Roles) -> None:
    survivor = d.config.hypervisor.tiebreaker.survivor
    d._swap_tiebreaker("hv0" if survivor == r.hv0 else "hv1", r)


def _lift_partitions(d: Drill, r: Roles, partitioned: str, limit_s: float = 600) -> None:
    """The drill's rules dropped. The partitioned node must answer and drop them, however long a
    fence's reboot keeps it away (the reboot clears them too; checked the same way once it is
    back); on the others they could only be left by an aborted drill, so one that does not answer
    now is said and skipped."""
    deadline = time.monotonic() + limit_s
    for node in (partitioned, *(n for n in (r.guest0, r.hv0, r.hv1, r.guest1) if n != partitioned)):
        said = 0.0
        while True:
            try:
                d.h.sh(node, UNPARTITION)
                break
            except HastackError as error:
                if node != partitioned:
                    d.log(f"drill: {node} did not answer ({error.code}); no partition rules of the drill are "
                          "expected there, so they are not lifted")
                    break
                if time.monotonic() > deadline:
                    raise HastackError("DRILL_UNDO", f"the partition rules on {node} could not be lifted within "
                                       f"{limit_s:.0f}s ({error}); on {node}, run: {UNPARTITION}")
                if time.monotonic() - said >= 60:
                    d.log(f"drill: {node} does not answer yet ({error.code}; a fence may be rebooting it); "
                          "trying again to lift its partition rules")
                    said = time.monotonic()
                time.sleep(10)


def _power_off(d: Drill, r: Roles) -> None:
    """The seed's `ipmitool chassis power off` against the BMC, sent from the peer hypervisor
    (the one place that reaches the BMC network); the password goes on stdin."""
    node = next(n for n in d.config.hypervisor.nodes if n.name == r.hv0)
    bmc = node.bmc
    options = {"ip": str(bmc.address), "username": bmc.username, "password": bmc.password.get_secret_value(),
               "action": "off", "ipport": str(bmc.port)}
    if bmc.lanplus:
        options["lanplus"] = "1"
    if bmc.cipher is not None:
        options["cipher"] = str(bmc.cipher)
    stdin = "".join(f"{k}={v}\n" for k, v in options.items()).encode()
    d.h.run(r.hv1, ["fence_ipmilan"], stdin=stdin, secret_stdin=True)


INJECTIONS = {
    "guest_standby": lambda d, r: _standby(d, r.guest1, r.guest0, True),
    "guest_partition": lambda d, r: _partition(d, "guest", r.guest0, r.guest1),
    "destroy_domain": _destroy_domain,
    "kill_postgres": _kill_postgres,
    "hypervisor_standby": lambda d, r: _standby(d, r.hv1, r.hv0, True),
    "hypervisor_partition": lambda d, r: _partition(d, "hypervisor", r.hv0, r.hv1),
    "hypervisor_partition_swapped": _hypervisor_partition_swapped,
    "power_off": _power_off,
}
# Undone once the failover happened (the drill's own placements), before waiting for redundancy.
UNDO = {
    "guest_standby": lambda d, r: _standby(d, r.guest1, r.guest0, False),
    "hypervisor_standby": lambda d, r: _standby(d, r.hv1, r.hv0, False),
    "guest_partition": lambda d, r: _lift_partitions(d, r, r.guest0),
    "hypervisor_partition": lambda d, r: _lift_partitions(d, r, r.hv0),
    "hypervisor_partition_swapped": lambda d, r: (_restore_tiebreaker(d, r), _lift_partitions(d, r, r.hv0)),
}


def roles_for(drill: Drill) -> Roles:
    guest0, guest1 = drill.guest_nodes
    hv0 = drill.where_guest_runs(guest0)
    if hv0 is None:
        raise HastackError("DRILL_UNHEALTHY", f"{guest0}'s VM runs nowhere")
    return Roles(guest0, guest1, hv0, next(n for n in drill.hv_nodes if n != hv0))


# A node a scenario puts in standby: the failover is over once it runs nothing.
EVACUATED = {"guest_standby": "guest0", "hypervisor_standby": "hv0"}


def service_back(drill: Drill, scenario: Scenario, roles: Roles, client, t0: float,
                 fences_before: dict[str, set[str]]) -> bool:
    if time.time() - t0 <= 20:
        return False
    evacuated = EVACUATED.get(scenario.inject)
    active = drill.pcmk[getattr(roles, scenario.active)]
    survivor = next(drill.pcmk[n] for n in drill.guest_nodes if drill.pcmk[n] != active)
    expected = {drill.pcmk[getattr(roles, role)] for role in scenario.fences}
    guest_views, hypervisor_views = drill.views("guest"), drill.views("hypervisor")
    fences = drill.fences(guest_views + hypervisor_views)
    owed = {node for node in expected if not fences.get(node, set()) - fences_before.get(node, set())}
    return timeline.failover_done(
        guest_views, hypervisor_views, drill.chain, drill.objects.vip.id,
        drill.client_samples(client), t0, evacuated=drill.pcmk[getattr(roles, evacuated)] if evacuated else None,
        owed_fences=owed, holder=survivor if scenario.takeover else None)


def run_scenario(drill: Drill, scenario: Scenario, run: str) -> Result:
    roles = roles_for(drill)
    active = getattr(roles, scenario.active)
    drill.place_database(active)
    roles = roles_for(drill)
    result = Result(scenario.id, scenario.title, vars(roles).copy())
    client = site_for(drill.config.drills.client_on, drill.h, roles.hv1)
    drill.start_client(client, run)
    drill.client_writes(client)
    drill.log(f"drill {scenario.id}: {scenario.title} ({', '.join(f'{k}={v}' for k, v in vars(roles).items())})")
    fences_before = drill.fences()
    lost_hypervisors = [getattr(roles, role) for role in scenario.fences if role.startswith("hv")]
    vms_on = {node: drill.vms_on(node) for node in lost_hypervisors}
    result.t0 = time.time()
    undone = False
    try:
        drill.inject(scenario.inject, roles)
        start = time.monotonic()
        drill.log(f"drill {scenario.id}: {scenario.inject} injected; waiting for the service")
        while not (back := service_back(drill, scenario, roles, client, result.t0, fences_before)) \
                and time.monotonic() - start < drill.limit_s:
            time.sleep(POLL_FAILOVER_S)
        # Not the SQL disruption (the client's samples give that): the point where the injection may be undone.
        drill.log(f"drill {scenario.id}: " + (f"failed over after {time.monotonic() - start:.0f}s (the expected fences done, "
                  "every view agreeing)" if back else f"not failed over within {drill.limit_s:.0f}s")
                  + f"; undoing {scenario.inject}, waiting for full redundancy")
        drill.undo(scenario.inject, roles)
        undone = True
        recovered = drill.wait_healthy(max(0.0, drill.limit_s - (time.monotonic() - start)), say_every_s=120)
        result.recovered_s = None if recovered is None else round(time.monotonic() - start, 1)
    finally:
        if not undone:  # the drill itself failed: take its injection back, or say it is still there
            try:
                drill.undo(scenario.inject, roles)
            except HastackError as error:
                drill.log(f"drill {scenario.id}: could not undo {scenario.inject} ({error}); undo it by hand")
        samples_text = drill.stop_client(client)
    result.samples = timeline.parse_samples(samples_text)
    result.sql = timeline.sql_disruption(result.samples, result.t0)
    result.pings = {name: timeline.ping_windows(result.samples, i, result.t0)
                    for i, (name, _a) in enumerate(drill.ping_targets())}
    result.events = drill.journals(result.t0)
    result.fenced = sorted({f"{e.layer}: {e.detail.split()[1]}" for e in result.events
                            if e.kind == "fenced" and e.detail.endswith(": ok")})
    for node, vms in vms_on.items():
        survivor = next(n for n in drill.hv_nodes if n != node)
        result.findings += timeline.vm_recovery(result.events, vms, drill.pcmk[node], drill.pcmk[survivor], result.t0)
    acknowledged = [s.row for s in result.samples if s.row is not None]
    result.acknowledged = len(acknowledged)
    present = drill.rows(run)
    result.lost = timeline.lost_rows(acknowledged, present) if present is not None else acknowledged
    result.failed_actions = drill.cleanup_failures()
    if result.recovered_s is not None:
        drill.wait_healthy(180)  # the cleanup's re-probes
    left = drill.unhealthy() if result.recovered_s is not None else ["not recovered"]
    result.check("back at full redundancy within the recover limit", result.recovered_s is not None,
                 f"{result.recovered_s}s" if result.recovered_s is not None else "; ".join(drill.unhealthy()))
    result.check("no acknowledged INSERT lost", present is not None and not result.lost,
                 f"{result.acknowledged} acknowledged, not checked: the table could not be read through the VIP "
                 "(no guest held the database when the drill ended); read it once it runs" if present is None else
                 f"{result.acknowledged} acknowledged, missing {result.lost}" if result.lost else
                 f"{result.acknowledged} acknowledged, all present")
    result.check("nothing left failed, no constraint left behind", not left, "; ".join(left))
    active, other = drill.pcmk[getattr(roles, scenario.active)], drill.pcmk[next(
        n for n in drill.guest_nodes if n != getattr(roles, scenario.active))]
    vip_at = timeline.first_start(result.events, drill.objects.vip.id, result.t0)
    if scenario.takeover:
        result.check("the database came back on the surviving guest", vip_at == other,
                     f"the VIP first started on {vip_at or 'no node'} after the failure; the survivor is {other}")
    else:
        result.check("the database stayed on its guest", vip_at in (None, active),
                     f"the VIP first started on {vip_at} after the failure; it was on {active}")
    expected = sorted(drill.pcmk[getattr(roles, role)].split(".")[0] for role in scenario.fences)
    fenced = sorted(f.split(": ", 1)[1].split(".")[0] for f in result.fenced)
    ok, detail, extra = fence_verdict(expected, fenced)
    result.check("the seed's fences happened", ok, detail)
    result.findings += extra
    return result


def fence_verdict(expected: list[str], fenced: list[str]) -> tuple[bool, str, list[str]]:
    """(every fence the seed saw happened, the detail, findings): a fence beyond the seed's fails
    nothing by itself (the other checks judge the outcome), but is said."""
    extra = sorted(set(fenced) - set(expected))
    findings = [f"fenced beyond the seed's: {', '.join(extra)} (the time line says by whom and when)"] if extra else []
    return set(expected) <= set(fenced), f"expected {expected or 'none'}, fenced {fenced or 'none'}", findings


def run(config: StackConfig, only: list[str], out: Path, predictions: dict[str, str] | None = None,
        log=print) -> list[Result]:
    hosts = Hosts(config)
    drill = Drill(config, hosts, log)
    try:
        drill.settle()
        run_id = time.strftime("%Y%m%d-%H%M%S")
        drill.setup_database(drill.active_guest())
        results = []
        for sid in only:
            result = run_scenario(drill, SCENARIOS[sid], run_id)
            result.predicted = (predictions or {}).get(sid, "")
            results.append(result)
            write(out, results)
            log(f"drill {sid}: {'passed' if result.ok else 'FAILED'}; SQL disruption {result.sql.seconds}s, "
                f"recovered {result.recovered_s}s")
            for finding in result.findings:
                log(f"drill {sid}: {finding}")
            if result.recovered_s is None:
                log("drill: the stack did not recover; the remaining scenarios are not run")
                break
        drill.drop_database()
        return results
    finally:
        hosts.close()


def write(out: Path, results: list[Result]) -> None:
    from hastack.drill.plot import write_timelines
    from hastack.drill.report import render_report

    out.mkdir(parents=True, exist_ok=True)
    data = [r.as_dict() for r in results]
    (out / "drill.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (out / "report.md").write_text(render_report(results))
    write_timelines(out, data)  # last: the measurements are on disk whatever the drawing does

