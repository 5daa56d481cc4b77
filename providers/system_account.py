"""SystemAccount: a locked system user with a root-owned ~/.ssh (it cannot change its own keys)."""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.plan import Run, on
from providers.base import HastackProvider, Props

CREATE = ('id -u "$1" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "$2" --shell /bin/bash "$1"; '
          'passwd -l "$1" >/dev/null; install -d -o root -g root -m 0755 "$2" "$2/.ssh"')


class SystemAccountProps(Props):
    account: str
    home: str


class SystemAccountProvider(HastackProvider):
    props_model = SystemAccountProps
    compare_fields = ("account", "home")
    replace_fields = ("account", "home")

    def resource_id(self, props):
        return props.account

    def plan_create(self, props, facts=None):
        return tuple(s for n in props.nodes for s in on(n.name, Run(("sh", "-c", CREATE, "sh", props.account, props.home))))

    def plan_delete(self, props):
        script = 'id -u "$1" >/dev/null 2>&1 || exit 0; userdel "$1"; rm -rf -- "$2"'
        return tuple(s for n in props.nodes for s in on(n.name, Run(("sh", "-c", script, "sh", props.account, props.home))))

    def observe(self, props, transport_for):
        present = 0
        for node in props.nodes:
            if transport_for(node.name).run(["id", "-u", props.account], ok_rc=(0, 1)).exit_code == 0:
                present += 1
        if present == 0:
            return None
        return {} if present == len(props.nodes) else {"account": f"{props.account} (missing on a node)"}


class SystemAccount(pulumi.dynamic.Resource, module="hastack", name="SystemAccount"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(SystemAccountProvider(), name, props, opts)
