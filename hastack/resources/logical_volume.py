"""LogicalVolume: the LV behind a VM's DRBD resource, on every node of the layer."""
from __future__ import annotations

from hastack.config.models import Size
from hastack.plan import Run, on
from hastack.reports import HastackError
from hastack.resources.base import Live, Props, on_each_node

_UNITS = {"M": 2**20, "G": 2**30, "T": 2**40}


def size_bytes(size: str) -> int:
    return int(size[:-1]) * _UNITS[size[-1]]


def refuse_shrink(code: str, what: str, old: str, new: str) -> None:
    """hastack only grows a VM's storage (the LV, then the DRBD device on it): a smaller size would
    cut off the end of the VM's disk.  Raised by the plan, so no host is touched."""
    if size_bytes(new) < size_bytes(old):
        raise HastackError(code, f"{what}: shrinking {old} -> {new} would destroy the VM's data; "
                           "hastack only grows volumes")


class LogicalVolumeProps(Props):
    volume_group: str
    name: str
    size: Size


class LogicalVolumeLive(Live):
    sizes: dict[str, int | None]  # node -> the LV's size in bytes; None: no such LV there


PROPS, LIVE = LogicalVolumeProps, LogicalVolumeLive
COMPARED = ("volume_group", "name", "size")
REPLACED = ("volume_group", "name")


def resource_id(props: LogicalVolumeProps) -> str:
    return f"{props.volume_group}/{props.name}"


# ---- probe: the LV's size on one node ------------------------------------------------------------
def lvs_argv(props: LogicalVolumeProps) -> list[str]:
    return ["lvs", "--noheadings", "--nosuffix", "--units", "b", "-o", "lv_size", resource_id(props)]


LVS_OK_RC = (0, 5)  # 5: no such LV


def parse_lv_size(exit_code: int, stdout: str) -> int | None:
    return int(stdout.strip()) if exit_code == 0 else None


def observe(props: LogicalVolumeProps, transport_for) -> LogicalVolumeLive | None:
    sizes = {}
    for node in props.nodes:
        result = transport_for(node.name).run(lvs_argv(props), ok_rc=LVS_OK_RC)
        sizes[node.name] = parse_lv_size(result.exit_code, result.stdout)
    return None if all(v is None for v in sizes.values()) else LogicalVolumeLive(sizes=sizes)


find = observe  # the create takes over an LV of the configured size, and creates a missing one


def drifted(props: LogicalVolumeProps, live: LogicalVolumeLive) -> tuple[str, ...]:
    return ("size",) if any(v != size_bytes(props.size) for v in live.sizes.values()) else ()


# ---- plans ---------------------------------------------------------------------------------------
def lvcreate_argv(props: LogicalVolumeProps) -> tuple[str, ...]:
    # Wipe old signatures (stale DRBD metadata at the end of reused extents would otherwise be
    # adopted as this resource's); --yes answers lvcreate's prompt for that.
    return ("lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "-L", props.size,
            "-n", props.name, props.volume_group)


def plan_create(props: LogicalVolumeProps, found: LogicalVolumeLive | None):
    sizes = found.sizes if found else {}
    plan = ()
    for node in props.nodes:
        existing = sizes.get(node.name)
        if existing is None:
            plan += on(node.name, Run(lvcreate_argv(props)))
        elif existing != size_bytes(props.size):
            raise HastackError("LV_EXISTS", f"{node.name}: {props.volume_group}/{props.name} exists with "
                               f"{existing} bytes, not {props.size}; remove or resize it first")
    return plan


# Grows the LV to $3 ($2 bytes) unless it is that big already: an `up` that stopped after one
# node's lvextend must be able to finish (lvextend refuses a size the LV already has).
EXTEND = ('cur=$(lvs --noheadings --nosuffix --units b -o lv_size "$1") || exit 1; '
          '[ "$cur" -ge "$2" ] && exit 0; exec lvextend -L "$3" "$1"')


def extend_argv(props: LogicalVolumeProps) -> tuple[str, ...]:
    return ("sh", "-c", EXTEND, "sh", resource_id(props), str(size_bytes(props.size)), props.size)


def plan_update(old: LogicalVolumeProps, new: LogicalVolumeProps, live: LogicalVolumeLive | None):
    refuse_shrink("LV_SHRINK", resource_id(new), old.size, new.size)
    return on_each_node(new, Run(extend_argv(new)))


def plan_delete(props: LogicalVolumeProps):
    return on_each_node(props, Run(("sh", "-c", 'lvs "$1" >/dev/null 2>&1 || exit 0; lvremove --yes "$1"', "sh",
                                    resource_id(props))))
