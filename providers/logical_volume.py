"""LogicalVolume: the LV behind a VM's DRBD resource, on every node of the layer."""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.config.models import Size
from hastack.plan import Run, on
from hastack.reports import HastackError
from providers.base import HastackProvider, Props

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
    size: Size  # typed, so a refreshed olds' drift description is never read as a size


def lvcreate_argv(props: LogicalVolumeProps) -> tuple[str, ...]:
    # Wipe old signatures (stale DRBD metadata at the end of reused extents would otherwise be
    # adopted as this resource's); --yes answers lvcreate's prompt for that.
    return ("lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "-L", props.size,
            "-n", props.name, props.volume_group)


class LogicalVolumeProvider(HastackProvider):
    props_model = LogicalVolumeProps
    compare_fields = ("volume_group", "name", "size")
    replace_fields = ("volume_group", "name")

    def resource_id(self, props):
        return f"{props.volume_group}/{props.name}"

    def probe(self, props, transport_for):
        return {n.name: self._size(props, transport_for(n.name)) for n in props.nodes}

    def _size(self, props, transport) -> int | None:
        result = transport.run(["lvs", "--noheadings", "--nosuffix", "--units", "b", "-o", "lv_size",
                                f"{props.volume_group}/{props.name}"], ok_rc=(0, 5))
        return int(result.stdout.strip()) if result.exit_code == 0 else None

    def plan_create(self, props, facts=None):
        facts = facts or {}
        plan = ()
        for node in props.nodes:
            existing = facts.get(node.name)
            if existing is None:
                plan += on(node.name, Run(lvcreate_argv(props)))
            elif existing != size_bytes(props.size):
                raise HastackError("LV_EXISTS", f"{node.name}: {props.volume_group}/{props.name} exists with "
                                   f"{existing} bytes, not {props.size}; remove or resize it first")
        return plan

    def plan_update(self, old, new):
        refuse_shrink("LV_SHRINK", f"{new.volume_group}/{new.name}", old.size, new.size)
        return tuple(s for n in new.nodes for s in on(n.name, Run(("lvextend", "-L", new.size, f"{new.volume_group}/{new.name}"))))

    def plan_delete(self, props):
        return tuple(s for n in props.nodes for s in on(
            n.name, Run(("sh", "-c", 'lvs "$1" >/dev/null 2>&1 || exit 0; lvremove --yes "$1"', "sh",
                         f"{props.volume_group}/{props.name}"))))

    def observe(self, props, transport_for):
        sizes = {n.name: self._size(props, transport_for(n.name)) for n in props.nodes}
        if all(v is None for v in sizes.values()):
            return None
        wrong = {k: v for k, v in sizes.items() if v != size_bytes(props.size)}
        return {"size": f"{wrong}"} if wrong else {}


class LogicalVolume(pulumi.dynamic.Resource, module="hastack", name="LogicalVolume"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(LogicalVolumeProvider(), name, props, opts)
