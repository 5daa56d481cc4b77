"""RemoteFile: a file with exact content and mode on every node of a layer."""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.plan import Put, Remove, Run, on
from providers.base import HastackProvider, Props, digest


class RemoteFileProps(Props):
    path: str
    content: str
    mode: int = 0o644
    secret: bool = False
    # A command that must accept the file before it goes live (e.g. visudo -cf); gets the path.
    validate_argv: tuple[str, ...] = ()


def put_plan(props: RemoteFileProps):
    plan = ()
    for node in props.nodes:
        if props.validate_argv:
            staged = props.path + ".hastack-new"
            plan += on(node.name, Put(staged, props.content.encode(), props.mode, props.secret),
                       Run((*props.validate_argv, staged)), Run(("mv", "-f", "--", staged, props.path)))
        else:
            plan += on(node.name, Put(props.path, props.content.encode(), props.mode, props.secret))
    return plan


class RemoteFileProvider(HastackProvider):
    props_model = RemoteFileProps
    compare_fields = ("path", "content", "mode")
    replace_fields = ("path",)

    def resource_id(self, props):
        return props.path

    def plan_create(self, props, facts=None):
        return put_plan(props)

    def plan_update(self, old, new):
        return put_plan(new)

    def plan_delete(self, props):
        return tuple(step for node in props.nodes for step in on(node.name, Remove(props.path)))

    def observe(self, props, transport_for):
        drift = {}
        wanted = digest(props.content)
        for node in props.nodes:
            result = transport_for(node.name).run(
                ["sh", "-c", 'test -e "$1" || exit 3; stat -c %a "$1"; sha256sum < "$1"', "sh", props.path], ok_rc=(0, 3))
            if result.exit_code == 3:
                return None
            mode, checksum = result.stdout.split()[:2]
            if checksum != wanted:
                drift["content"] = f"(changed on {node.name}; sha256 {checksum[:12]})" if not props.secret else "(changed)"
            if int(mode, 8) != props.mode:
                drift["mode"] = int(mode, 8)
        return drift


class RemoteFile(pulumi.dynamic.Resource, module="hastack", name="RemoteFile"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(RemoteFileProvider(), name, props, opts)
