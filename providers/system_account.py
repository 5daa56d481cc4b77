"""SystemAccount: a locked system user with a root-owned ~/.ssh (it cannot change its own keys).

`linger` keeps the account's systemd user manager running, so a login does not start one first:
on a loaded host that start is a large part of an SSH login's time, and the guest fence agent logs
in to the hypervisors while they are busiest.
"""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.plan import Run, on
from providers.base import HastackProvider, Props

CREATE = ('id -u "$1" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "$2" --shell /bin/bash "$1"; '
          'passwd -l "$1" >/dev/null; install -d -o root -g root -m 0755 "$2" "$2/.ssh"; '
          'if [ "$3" = yes ]; then loginctl enable-linger "$1"; fi')
NO_LINGER = 'id -u "$1" >/dev/null 2>&1 || exit 0; loginctl disable-linger "$1"'
# The user manager of a lingering account keeps processes that userdel refuses to remove under.
DELETE = ('id -u "$1" >/dev/null 2>&1 || exit 0; loginctl disable-linger "$1"; loginctl terminate-user "$1" 2>/dev/null; '
          'for _ in 1 2 3 4 5 6 7 8 9 10; do userdel "$1" 2>/dev/null && break; sleep 1; done; '
          'id -u "$1" >/dev/null 2>&1 && { userdel "$1"; exit 1; }; rm -rf -- "$2"')
LINGER_DIR = "/var/lib/systemd/linger"


class SystemAccountProps(Props):
    account: str
    home: str
    linger: bool = False


class SystemAccountProvider(HastackProvider):
    props_model = SystemAccountProps
    compare_fields = ("account", "home", "linger")
    replace_fields = ("account", "home")

    def resource_id(self, props):
        return props.account

    def plan_create(self, props, facts=None):
        linger = "yes" if props.linger else "no"
        return tuple(s for n in props.nodes
                     for s in on(n.name, Run(("sh", "-c", CREATE, "sh", props.account, props.home, linger))))

    def plan_update(self, old, new):
        # Only linger changes in place; the account and its keys stay.
        plan = self.plan_create(new)
        if old.linger and not new.linger:
            plan += tuple(s for n in new.nodes for s in on(n.name, Run(("sh", "-c", NO_LINGER, "sh", new.account))))
        return plan

    def plan_delete(self, props):
        return tuple(s for n in props.nodes
                     for s in on(n.name, Run(("sh", "-c", DELETE, "sh", props.account, props.home))))

    def observe(self, props, transport_for):
        present, lingering = 0, 0
        script = 'id -u "$1" >/dev/null 2>&1 || exit 1; test -e "$2/$1" && echo linger; exit 0'
        for node in props.nodes:
            result = transport_for(node.name).run(["sh", "-c", script, "sh", props.account, LINGER_DIR], ok_rc=(0, 1))
            if result.exit_code == 0:
                present += 1
                lingering += "linger" in result.stdout
        if present == 0:
            return None
        drift = {} if present == len(props.nodes) else {"account": f"{props.account} (missing on a node)"}
        if lingering != (present if props.linger else 0):
            drift["linger"] = f"{lingering} of {present} nodes linger"
        return drift


class SystemAccount(pulumi.dynamic.Resource, module="hastack", name="SystemAccount"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(SystemAccountProvider(), name, props, opts)
