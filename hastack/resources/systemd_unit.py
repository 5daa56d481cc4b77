"""SystemdUnit: a unit enabled or disabled (and started or stopped to match) on every node.

The guest layer needs PostgreSQL's and DRBD's own units off: Pacemaker owns those lifecycles,
and a PostgreSQL that systemd starts at boot would race the cluster's for the same port.
"""
from __future__ import annotations

from hastack.plan import Run
from hastack.resources.base import Live, Props, on_each_node


class SystemdUnitProps(Props):
    unit: str
    enabled: bool


class SystemdUnitLive(Live):
    enabled: dict[str, bool]  # node -> is the unit enabled there


PROPS, LIVE = SystemdUnitProps, SystemdUnitLive
COMPARED = ("unit", "enabled")
REPLACED = ("unit",)


def resource_id(props: SystemdUnitProps) -> str:
    return f"{props.unit}-{'enabled' if props.enabled else 'disabled'}"


# ---- probe: `systemctl is-enabled` on one node -----------------------------------------------------
def is_enabled_argv(unit: str) -> list[str]:
    return ["systemctl", "is-enabled", unit]


IS_ENABLED_OK_RC = (0, 1, 4)  # 1: disabled (or masked), 4: no such unit


def parse_is_enabled(stdout: str) -> bool:
    return stdout.strip() in ("enabled", "enabled-runtime", "static", "alias")


def observe(props: SystemdUnitProps, transport_for) -> SystemdUnitLive:
    return SystemdUnitLive(enabled={
        n.name: parse_is_enabled(transport_for(n.name).run(is_enabled_argv(props.unit), ok_rc=IS_ENABLED_OK_RC).stdout)
        for n in props.nodes})


def drifted(props: SystemdUnitProps, live: SystemdUnitLive) -> tuple[str, ...]:
    return ("enabled",) if any(e != props.enabled for e in live.enabled.values()) else ()


# ---- plans ---------------------------------------------------------------------------------------
def unit_argv(props: SystemdUnitProps) -> tuple[str, ...]:
    verb = "enable" if props.enabled else "disable"
    # A unit that is not installed is already "disabled"; only enabling one must find it.  A
    # unit is stopped only if it runs (`disable --now` of an inactive unit can time out talking
    # to a busy systemd).  Disabling only removes the boot-time links, so it skips the implicit
    # daemon-reload (45 s on an emulated guest, measured 2026-12-03; two units paid it in turn).
    script = f'systemctl {verb} --now "$1"' if props.enabled else \
        ('systemctl list-unit-files "$1" >/dev/null 2>&1 || exit 0; systemctl disable --no-reload "$1"; '
         'if systemctl is-active --quiet "$1"; then systemctl stop "$1"; fi')
    return ("sh", "-c", script, "sh", props.unit)


def plan_create(props: SystemdUnitProps, found=None):
    return on_each_node(props, Run(unit_argv(props)))


def plan_update(old: SystemdUnitProps, new: SystemdUnitProps, live: SystemdUnitLive | None):
    return plan_create(new)


def plan_delete(props: SystemdUnitProps):
    return ()  # leave the unit as it is: hastack does not guess what it was before
