"""DrbdResource: the .res file on both nodes, metadata, `up`, and the first primary.

Metadata is created only on a disk that has none, and the first `primary --force` runs (on the
preferred node) only when neither side has ever held data: forcing it over a side with data
would discard the peer's.  A side whose metadata still has DRBD's just-created generation UUID
has never held data either (a create that stopped after `create-md`).

A grown `size` (the VM's lv_size; this resource depends on its LogicalVolume, so both LVs have
grown first) runs `drbdadm resize` once: the device keeps its old size until DRBD moves its
internal metadata to the LV's new end.
"""
from __future__ import annotations

from hastack.config.models import DrbdOptions, Size
from hastack.facts.host import check_uname
from hastack.plan import Put, Remove, Run, on, together
from hastack.reports import HastackError
from hastack.render.drbd import DrbdHost, render_resource
from hastack.resources.base import Live, Props, digest, on_each_node
from hastack.resources.logical_volume import refuse_shrink, size_bytes


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
    # Each line they print is a note to the operator (`up` shows it: the guest's SELinux labels).
    initial_fill: tuple[tuple[str, ...], ...] = ()
    # The size of the LV under the device (the VM's lv_size).  None: not known, as for the guest
    # layer's disk and for state recorded before this field; then nothing is ever resized.
    size: Size | None = None


class DrbdResourceLive(Live):
    res_sha256: dict[str, str | None]  # node -> sha256 of its .res file; None: no file there


PROPS, LIVE = DrbdResourceProps, DrbdResourceLive
COMPARED = ("name", "minor", "disk", "hosts", "ports", "options", "size")
REPLACED = ("name", "minor", "disk")


def resource_id(props: DrbdResourceProps) -> str:
    return props.name


def res_path(name: str) -> str:
    return f"/etc/drbd.d/{name}.res"


def res_text(props: DrbdResourceProps) -> str:
    hosts = tuple(DrbdHost(on_name, tuple(addresses)) for on_name, addresses in props.hosts)
    return render_resource(props.name, props.minor, props.disk, hosts, props.ports, props.options)


# ---- probe before the create: each side's name, state, and what else holds its minor or ports ---
# One node's side: up | md (metadata, not up) | new (a disk without any signature) | nodisk |
# used:<signatures> (a filesystem, partition table, ... and no DRBD metadata: someone's data), and
# "-blank" after up or md when the current generation UUID is UUID_JUST_CREATED (4): this side
# has never been primary, so it holds no data.  A get-gi that fails counts as holding data.
# Not up, its minor must be free (no /sys/block/drbdN) and nothing may listen on its ports (its
# own last connection may linger in TIME-WAIT: no obstacle).
# $1 resource, $2 disk, $3 minor, then the ports.
PROBE = ('if drbdsetup status "$1" >/dev/null 2>&1; then s=up; '
         'elif [ ! -b "$2" ]; then s=nodisk; '
         'else sig=$(wipefs --no-act --noheadings --output TYPE -- "$2" 2>/dev/null | sort -u | tr "\\n" " "); '
         'case " $sig" in *" drbd "*) s=md;; " ") s=new;; *) s="used:${sig% }";; esac; fi; '
         'case $s in up|md) case "$(drbdadm get-gi "$1" 2>/dev/null)" in 0000000000000004:*) s="$s-blank";; esac;; esac; '
         'echo "$s"; [ "${s%-blank}" = up ] && exit 0; '
         'if [ -e "/sys/block/drbd$3" ]; then echo "minor-taken $(grep -lE "minor[[:space:]]+$3[[:space:]]*;" '
         '/etc/drbd.d/*.res 2>/dev/null | grep -vx "/etc/drbd.d/$1.res" | head -n 1)"; fi; '
         'shift 3; for p; do [ -n "$(ss -Hltn "( sport = :$p )")" ] && echo "port-taken $p"; done; exit 0')
NEVER_HELD_DATA = frozenset({"new", "md-blank", "up-blank"})


def side_argv(props: DrbdResourceProps) -> list[str]:
    """One round trip: the host's name (its on-section must be it), then its side's state."""
    return ["sh", "-c", "uname -n; " + PROBE, "sh", props.name, props.disk, str(props.minor),
            *map(str, props.ports)]


def parse_side(stdout: str) -> tuple[str, str, tuple[str, ...]]:
    """(uname, state, what holds this side's minor or ports) from side_argv's output."""
    lines = stdout.strip().splitlines()
    return (lines[0] if lines else ""), (lines[1] if len(lines) > 1 else ""), tuple(lines[2:])


def refuse_unsafe_side(props: DrbdResourceProps, node: str, state: str, taken: tuple[str, ...]) -> None:
    """Before any change: a disk with someone's data, a minor or port that another holds."""
    if state.startswith("used:"):
        raise HastackError("DRBD_DISK_IN_USE", (
            f"{node}: {props.disk} holds {state.removeprefix('used:')} and no DRBD metadata; hastack puts "
            f"DRBD resource {props.name} only on an empty disk (its metadata would overwrite the disk's end, a "
            f"new VM's image all the rest). If nothing on it is needed, wipe it (wipefs -a {props.disk}) and "
            "run up again; else give the VM another name or volume"))
    for line in taken:
        what, _, detail = line.partition(" ")
        if what == "minor-taken":
            owner = f"resource file {detail}" if detail else "a resource with no file under /etc/drbd.d"
            raise HastackError("DRBD_MINOR_TAKEN", (
                f"{node}: DRBD minor {props.minor} (/dev/drbd{props.minor}) is already in use, by {owner}, not by "
                f"{props.name}; give {props.name} a free minor in the stack config, or take the other down "
                "(drbdadm down) if it is a leftover"))
        if what == "port-taken":
            raise HastackError("DRBD_PORT_TAKEN", (
                f"{node}: TCP port {detail} of DRBD resource {props.name} is already in use on this host (ss -ltnp "
                f"'( sport = :{detail} )' shows by what); give {props.name} free ports in the stack config, or stop "
                "what holds it"))


def find(props: DrbdResourceProps, transport_for) -> dict[str, str]:
    """Each node's side state (as PROBE prints it); NODE_NAME_MISMATCH for a host that is not
    the on-section it is configured as; refused before any change where the side is unsafe."""
    states = {}
    for node, (on_name, _addresses) in zip(props.nodes, props.hosts):
        uname, state, taken = parse_side(transport_for(node.name).run(side_argv(props)).stdout)
        check_uname(node.name, on_name, uname)
        refuse_unsafe_side(props, node.name, state, taken)
        states[node.name] = state
    return states


# ---- live state: the .res file on each node -------------------------------------------------------
def observe(props: DrbdResourceProps, transport_for) -> DrbdResourceLive | None:
    texts = {n.name: transport_for(n.name).read(res_path(props.name)) for n in props.nodes}
    if all(text is None for text in texts.values()):
        return None
    return DrbdResourceLive(res_sha256={n: None if t is None else digest(t) for n, t in texts.items()})


def drifted(props: DrbdResourceProps, live: DrbdResourceLive) -> tuple[str, ...]:
    wanted, found = digest(res_text(props)), live.res_sha256.values()
    return (("hosts",) if None in found else ()) + (("options",) if any(d not in (None, wanted) for d in found) else ())


# ---- plans ---------------------------------------------------------------------------------------
# drbdadm, riding out its own 5 s wait on each drbdsetup it runs: past it, drbdadm exits 20 ("did
# not terminate within 5 seconds") and leaves that drbdsetup running (a `new-minor` on a loaded
# hypervisor during the CI's `up`).  Then: wait for it to end and run the command again (an `up`
# as `adjust`, which does what is left); every other failure is DRBD's answer and stands.
PATIENT_DRBDADM = (
    'drbdadm "$@" && exit 0; rc=$?; [ "$rc" -eq 20 ] || exit "$rc"; '
    'for i in $(seq 1 60); do pgrep -x "drbdsetup(-8[34])?" >/dev/null || break; sleep 2; done; '
    '[ "$1" = up ] && set -- adjust "$2"; '
    'echo "drbdadm gave up waiting on a slow drbdsetup (exit 20); once it ended: drbdadm $*" >&2; drbdadm "$@"')


def drbdadm(*args: str) -> Run:
    return Run(("sh", "-c", PATIENT_DRBDADM, "sh", *args))


def plan_create(props: DrbdResourceProps, found: dict[str, str] | None):
    states = found or {n.name: "new" for n in props.nodes}  # render: both sides new
    text = res_text(props).encode()
    lanes = {}
    for node in props.nodes:
        state = states[node.name]
        steps = (Put(res_path(props.name), text),)
        if state == "nodisk":
            steps += (Run(("test", "-b", props.disk)),)  # fails with the host's own words
        if state == "new":
            steps += (Run(("drbdadm", "create-md", "--force", props.name)),)
        is_up = state.removesuffix("-blank") == "up"
        lanes[node.name] = steps + (drbdadm("adjust" if is_up else "up", props.name),)
    plan = together(lanes)
    if all(states[n.name] in NEVER_HELD_DATA for n in props.nodes):
        steps = [drbdadm("primary", "--force", props.name)]
        steps += [Run(tuple(argv), notes=True) for argv in props.initial_fill]  # what a fill prints is for the operator
        # Hand the role back: from here on Pacemaker's promotable clone decides who is primary.
        steps.append(drbdadm("secondary", props.name))
        plan += on(props.preferred_node, *steps)
    return plan


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


def plan_update(old: DrbdResourceProps, new: DrbdResourceProps, live: DrbdResourceLive | None):
    if old.size is None and all(getattr(old, f) == getattr(new, f) for f in COMPARED if f != "size") \
            and not (live and drifted(new, live)):
        return ()  # state recorded before `size` was a field, nothing else changed: only record it
    old_size = old.size or new.size  # not known (older state): taken as configured, nothing grows
    if new.size:
        refuse_shrink("DRBD_SHRINK", f"DRBD resource {new.name}", old_size, new.size)
    plan = on_each_node(new, Put(res_path(new.name), res_text(new).encode()), drbdadm("adjust", new.name))
    if new.size and size_bytes(new.size) > size_bytes(old_size):
        # Once, on one node: DRBD grows both sides and resyncs the new area itself.
        plan += on(new.preferred_node, Run(("sh", "-c", RESIZE, "sh", new.name)))
    return plan


def plan_delete(props: DrbdResourceProps):
    down = 'drbdsetup status "$1" >/dev/null 2>&1 || exit 0; drbdadm down "$1"'
    return on_each_node(props, Run(("sh", "-c", down, "sh", props.name)), Remove(res_path(props.name)))
