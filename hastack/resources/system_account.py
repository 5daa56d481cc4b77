"""SystemAccount: a locked system user with a root-owned ~/.ssh (it cannot change its own keys).

`linger` keeps the account's systemd user manager running, so a login does not start one first:
on a loaded host that start is a large part of an SSH login's time, and the guest fence agent logs
in to the hypervisors while they are busiest.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hastack.plan import Run
from hastack.resources.base import Live, Props, on_each_node

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


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    exists: bool
    linger: bool = False


class SystemAccountLive(Live):
    accounts: dict[str, AccountState]  # node -> the account there


PROPS, LIVE = SystemAccountProps, SystemAccountLive
COMPARED = ("account", "home", "linger")
REPLACED = ("account", "home")


def resource_id(props: SystemAccountProps) -> str:
    return props.account


# ---- probe: does the account exist on a node, and does it linger ---------------------------------
ACCOUNT = 'id -u "$1" >/dev/null 2>&1 || exit 1; test -e "$2/$1" && echo linger; exit 0'


def account_argv(props: SystemAccountProps) -> list[str]:
    return ["sh", "-c", ACCOUNT, "sh", props.account, LINGER_DIR]


def parse_account(exit_code: int, stdout: str) -> AccountState:
    return AccountState(exists=exit_code == 0, linger=exit_code == 0 and "linger" in stdout)


def observe(props: SystemAccountProps, transport_for) -> SystemAccountLive | None:
    accounts = {}
    for node in props.nodes:
        result = transport_for(node.name).run(account_argv(props), ok_rc=(0, 1))
        accounts[node.name] = parse_account(result.exit_code, result.stdout)
    if not any(a.exists for a in accounts.values()):
        return None
    return SystemAccountLive(accounts=accounts)


def drifted(props: SystemAccountProps, live: SystemAccountLive) -> tuple[str, ...]:
    accounts = live.accounts.values()
    return ((("account",) if not all(a.exists for a in accounts) else ())
            + (("linger",) if any(a.exists and a.linger != props.linger for a in accounts) else ()))


# ---- plans ---------------------------------------------------------------------------------------
def plan_create(props: SystemAccountProps, found=None):
    linger = "yes" if props.linger else "no"
    return on_each_node(props, Run(("sh", "-c", CREATE, "sh", props.account, props.home, linger)))


def plan_update(old: SystemAccountProps, new: SystemAccountProps, live: SystemAccountLive | None):
    # Only linger changes in place; the account and its keys stay.
    plan = plan_create(new)
    lingered = old.linger or (live is not None and any(a.linger for a in live.accounts.values()))
    if lingered and not new.linger:
        plan += on_each_node(new, Run(("sh", "-c", NO_LINGER, "sh", new.account)))
    return plan


def plan_delete(props: SystemAccountProps):
    return on_each_node(props, Run(("sh", "-c", DELETE, "sh", props.account, props.home)))
