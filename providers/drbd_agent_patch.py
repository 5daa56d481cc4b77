"""DrbdAgentPatch: the crm_master -> crm_attribute --promotion patch of ocf:linbit:drbd.

A package upgrade restores the stock agent; refresh then reports it as drift and `up` patches
it again.  Delete restores the backup taken before the first patch.
"""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.plan import Put, Run, on
from hastack.render.drbd_agent import AGENT_PATH, BACKUP_PATH, is_patched, render_sed_script
from providers.base import HastackProvider, Props

SED_PATH = "/var/lib/hastack/drbd-agent.sed"


class DrbdAgentPatchProps(Props):
    agent_path: str = AGENT_PATH


class DrbdAgentPatchProvider(HastackProvider):
    props_model = DrbdAgentPatchProps
    compare_fields = ("agent_path",)

    def resource_id(self, props):
        return f"{props.layer}-drbd-agent-patch"

    def plan_create(self, props, facts=None):
        backup = 'test -e "$2" || cp -p -- "$1" "$2"'
        return tuple(s for n in props.nodes for s in on(
            n.name,
            Run(("mkdir", "-p", "/var/lib/hastack")),
            Put(SED_PATH, render_sed_script().encode()),
            Run(("sh", "-c", backup, "sh", props.agent_path, BACKUP_PATH)),
            Run(("sed", "-i", "-f", SED_PATH, props.agent_path)),
        ))

    def plan_delete(self, props):
        restore = 'test -e "$2" && cp -p -- "$2" "$1" || true'
        return tuple(s for n in props.nodes for s in on(n.name, Run(("sh", "-c", restore, "sh", props.agent_path, BACKUP_PATH))))

    def observe(self, props, transport_for):
        for node in props.nodes:
            text = transport_for(node.name).read(props.agent_path)
            if text is None or not is_patched(text.decode()):
                return {"agent_path": f"{props.agent_path} (unpatched on {node.name})"}
        return {}


class DrbdAgentPatch(pulumi.dynamic.Resource, module="hastack", name="DrbdAgentPatch"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(DrbdAgentPatchProvider(), name, props, opts)
