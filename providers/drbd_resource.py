"""DrbdResource: the .res file on both nodes, metadata, `up`, and the first primary.

Metadata is created only on a disk that has none (the seed's `create-md --force` would have
overwritten an existing replica); the initial `primary --force` runs on the preferred node only
when neither side has ever held data, because forcing it on a side with data would discard the
peer's.  "Never held data" is a disk without metadata, or metadata whose current generation UUID
is still DRBD's just-created value: a create that failed after one node's `create-md` leaves that,
and the next `up` must still make the first primary (seen live: without it both sides stayed
Inconsistent and the VM could never start).

A grown `size` (the VM's lv_size; this resource depends on its LogicalVolume, so both LVs have
grown first) makes the update run `drbdadm resize` once: DRBD's internal metadata sits at the end
of the LV, and the device keeps its old size until DRBD moves it.
"""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.config.models import DrbdOptions, Size
from hastack.facts.host import check_uname
from hastack.plan import Put, Remove, Run, on
from hastack.render.drbd import DrbdHost, render_resource
from providers.base import HastackProvider, Props, digest
from providers.logical_volume import refuse_shrink, size_bytes

# One node's side: up | md (metadata, not up) | new (a disk without metadata) | nodisk, and
# "-blank" after up or md when the current generation UUID is UUID_JUST_CREATED (4): this side
# has never been primary, so it holds no data.  A get-gi that fails counts as holding data.
PROBE = ('if drbdsetup status "$1" >/dev/null 2>&1; then s=up; '
         'elif [ "$(blkid -p -o value -s TYPE "$2" 2>/dev/null)" = drbd ]; then s=md; '
         'elif [ -b "$2" ]; then echo new; exit 0; else echo nodisk; exit 0; fi; '
         'case "$(drbdadm get-gi "$1" 2>/dev/null)" in 0000000000000004:*) echo "$s-blank";; *) echo "$s";; esac')
NEVER_HELD_DATA = frozenset({"new", "md-blank", "up-blank"})

# Grows the device onto its grown LVs, run on one node.  Not Connected, DRBD 8.4 "resizes" to the
# size both sides last agreed on (nothing grows, no error), so the guard refuses first and says
# so; DRBD itself refuses during a resync and (8.4) with no side Primary.  $1 is the resource.
RESIZE = ('cs=$(drbdadm cstate "$1" 2>&1); [ "$cs" = Connected ] || { echo "DRBD resource $1 is not Connected to its '
          'peer, or resyncing (connection state: $cs); DRBD grows a device only while both sides are connected and '
          'in sync. The LVs have grown already: bring the peer back or let the resync end (drbdadm status $1); the '
          'next up retries the resize." >&2; exit 3; }; '
          'drbdadm resize "$1" || { rc=$?; echo "DRBD refused to grow $1: it needs the peer connected, no resync '
          'running and, with DRBD 8.4, one side Primary (the VM running); the next up retries the resize." >&2; '
          'exit $rc; }')


class DrbdResourceProps(Props):
    name: str
    minor: int
    disk: str
    hosts: tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]]  # (on-name, addresses)
    ports: tuple[int, ...]
    options: DrbdOptions
    preferred_node: str
    # Commands run once on the preferred node while it holds the very first primary role
    # (writing a VM image, making the guest's filesystem): only ever on a brand-new resource.
    initial_fill: tuple[tuple[str, ...], ...] = ()
    # The size of the LV under the device (the VM's lv_size).  None: not known, as for the guest
    # layer's disk and for state recorded before this field; then nothing is ever resized.
    size: Size | None = None


def res_path(name: str) -> str:
    return f"/etc/drbd.d/{name}.res"


def res_text(props: DrbdResourceProps) -> str:
    hosts = tuple(DrbdHost(on_name, tuple(addresses)) for on_name, addresses in props.hosts)
    return render_resource(props.name, props.minor, props.disk, hosts, props.ports, props.options)


class DrbdResourceProvider(HastackProvider):
    props_model = DrbdResourceProps
    compare_fields = ("name", "minor", "disk", "hosts", "ports", "options", "size")
    replace_fields = ("name", "minor", "disk")

    def resource_id(self, props):
        return props.name

    def probe(self, props, transport_for):
        facts = {}
        for node, (on_name, _addresses) in zip(props.nodes, props.hosts):
            # One round trip: the host's name (its on-section must be it), then its side's state.
            lines = transport_for(node.name).run(["sh", "-c", "uname -n; " + PROBE, "sh", props.name, props.disk]
                                                 ).stdout.strip().splitlines()
            check_uname(node.name, on_name, lines[0] if lines else "")
            facts[node.name] = lines[-1] if len(lines) > 1 else ""
        return facts

    def plan_create(self, props, facts=None):
        facts = facts or {n.name: "new" for n in props.nodes}
        text = res_text(props).encode()
        plan = ()
        for node in props.nodes:
            state = facts[node.name]
            plan += on(node.name, Put(res_path(props.name), text))
            if state == "nodisk":
                plan += on(node.name, Run(("test", "-b", props.disk)))  # fails with the host's own words
            if state == "new":
                plan += on(node.name, Run(("drbdadm", "create-md", "--force", props.name)))
            is_up = state.removesuffix("-blank") == "up"
            plan += on(node.name, Run(("drbdadm", "adjust" if is_up else "up", props.name)))
        if all(facts[n.name] in NEVER_HELD_DATA for n in props.nodes):
            steps = [Run(("drbdadm", "primary", "--force", props.name))]
            steps += [Run(tuple(argv)) for argv in props.initial_fill]
            # Hand the role back: from here on Pacemaker's promotable clone decides who is primary.
            steps.append(Run(("drbdadm", "secondary", props.name)))
            plan += on(props.preferred_node, *steps)
        return plan

    def plan_update(self, old, new):
        old_size = old.size or new.size  # not known (older state): taken as configured, nothing grows
        if new.size:
            refuse_shrink("DRBD_SHRINK", f"DRBD resource {new.name}", old_size, new.size)
        text = res_text(new).encode()
        plan = tuple(s for n in new.nodes for s in on(
            n.name, Put(res_path(new.name), text), Run(("drbdadm", "adjust", new.name))))
        if new.size and size_bytes(new.size) > size_bytes(old_size):
            # Once, on one node: DRBD grows both sides and resyncs the new area itself.
            plan += on(new.preferred_node, Run(("sh", "-c", RESIZE, "sh", new.name)))
        return plan

    def update(self, id_, olds, news):
        # State recorded before `size` was a field, and nothing else changed: record the size
        # without touching a host (the first `up` after the field came).
        if olds.get("size") is None and not self.diff(id_, {**olds, "size": news.get("size")}, news).changes:
            return pulumi.dynamic.UpdateResult(outs=dict(news))
        return super().update(id_, olds, news)

    def plan_delete(self, props):
        down = ('drbdsetup status "$1" >/dev/null 2>&1 || exit 0; drbdadm down "$1"')
        return tuple(s for n in props.nodes for s in on(
            n.name, Run(("sh", "-c", down, "sh", props.name)), Remove(res_path(props.name))))

    def observe(self, props, transport_for):
        wanted = digest(res_text(props))
        present, drift = 0, {}
        for node in props.nodes:
            text = transport_for(node.name).read(res_path(props.name))
            if text is None:
                drift.setdefault("hosts", f"(no {res_path(props.name)} on {node.name})")
                continue
            present += 1
            if digest(text) != wanted:
                drift["options"] = f"({res_path(props.name)} edited on {node.name})"
        return None if present == 0 else drift


class DrbdResource(pulumi.dynamic.Resource, module="hastack", name="DrbdResource"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(DrbdResourceProvider(), name, props, opts)
