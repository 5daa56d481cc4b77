"""SystemdUnit: a unit enabled or disabled (and started or stopped to match) on every node.

The guest layer needs PostgreSQL's and DRBD's own units off: Pacemaker owns those lifecycles,
and a PostgreSQL that systemd starts at boot would race the cluster's for the same port.
"""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.plan import Run, on
from providers.base import HastackProvider, Props


class SystemdUnitProps(Props):
    unit: str
    enabled: bool


def _argv(props: SystemdUnitProps) -> tuple[str, ...]:
    verb = "enable" if props.enabled else "disable"
    # A unit that is not installed is already "disabled"; only enabling one must find it.  A
    # unit is stopped only if it runs (measured: `disable --now` of an inactive drbd.service
    # timed out talking to a busy systemd).
    script = f'systemctl {verb} --now "$1"' if props.enabled else \
        ('systemctl list-unit-files "$1" >/dev/null 2>&1 || exit 0; systemctl disable "$1"; '
         'if systemctl is-active --quiet "$1"; then systemctl stop "$1"; fi')
    return ("sh", "-c", script, "sh", props.unit)


class SystemdUnitProvider(HastackProvider):
    props_model = SystemdUnitProps
    compare_fields = ("unit", "enabled")
    replace_fields = ("unit",)

    def resource_id(self, props):
        return f"{props.unit}-{'enabled' if props.enabled else 'disabled'}"

    def plan_create(self, props, facts=None):
        return tuple(s for n in props.nodes for s in on(n.name, Run(_argv(props))))

    def plan_update(self, old, new):
        return self.plan_create(new)

    def plan_delete(self, props):
        return ()  # leave the unit as it is: hastack does not guess what it was before

    def observe(self, props, transport_for):
        for node in props.nodes:
            state = transport_for(node.name).run(["systemctl", "is-enabled", props.unit], ok_rc=(0, 1, 4)).stdout.strip()
            enabled = state in ("enabled", "enabled-runtime", "static", "alias")
            if enabled != props.enabled:
                return {"enabled": enabled}
        return {}


class SystemdUnit(pulumi.dynamic.Resource, module="hastack", name="SystemdUnit"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(SystemdUnitProvider(), name, props, opts)
