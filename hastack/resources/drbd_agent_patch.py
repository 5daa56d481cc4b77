"""DrbdAgentPatch: the crm_master -> crm_attribute --promotion patch of ocf:linbit:drbd.

A package upgrade restores the stock agent; refresh then reads it as unpatched and `up` patches
it again.  Delete restores the backup taken before the first patch.
"""
from __future__ import annotations

from hastack.plan import Put, Run
from hastack.render.drbd_agent import AGENT_PATH, BACKUP_PATH, is_patched, render_sed_script
from hastack.resources.base import Live, Props, on_each_node

SED_PATH = "/var/lib/hastack/drbd-agent.sed"


class DrbdAgentPatchProps(Props):
    agent_path: str = AGENT_PATH


class DrbdAgentPatchLive(Live):
    patched: dict[str, bool]  # node -> is its agent patched (False: unpatched or missing)


PROPS, LIVE = DrbdAgentPatchProps, DrbdAgentPatchLive
COMPARED = ("agent_path",)
REPLACED = ()


def resource_id(props: DrbdAgentPatchProps) -> str:
    return f"{props.layer}-drbd-agent-patch"


def observe(props: DrbdAgentPatchProps, transport_for) -> DrbdAgentPatchLive:
    texts = {n.name: transport_for(n.name).read(props.agent_path) for n in props.nodes}
    return DrbdAgentPatchLive(patched={n: t is not None and is_patched(t.decode()) for n, t in texts.items()})


def drifted(props: DrbdAgentPatchProps, live: DrbdAgentPatchLive) -> tuple[str, ...]:
    return ("agent_path",) if not all(live.patched.values()) else ()


def plan_create(props: DrbdAgentPatchProps, found=None):
    backup = 'test -e "$2" || cp -p -- "$1" "$2"'
    return on_each_node(props, Run(("mkdir", "-p", "/var/lib/hastack")), Put(SED_PATH, render_sed_script().encode()),
                        Run(("sh", "-c", backup, "sh", props.agent_path, BACKUP_PATH)),
                        Run(("sed", "-i", "-f", SED_PATH, props.agent_path)))


def plan_update(old: DrbdAgentPatchProps, new: DrbdAgentPatchProps, live: DrbdAgentPatchLive | None):
    return plan_delete(old) + plan_create(new)


def plan_delete(props: DrbdAgentPatchProps):
    restore = 'test -e "$2" && cp -p -- "$2" "$1" || true'
    return on_each_node(props, Run(("sh", "-c", restore, "sh", props.agent_path, BACKUP_PATH)))
