"""SelinuxBooleans: SELinux booleans set persistently (`setsebool -P`) on every node of a layer.

The seed sets `daemons_enable_cluster_mode` on both layers' nodes and `nagios_run_sudo` where
NRPE runs crm_mon through sudo (hastack.layout.layer_selinux_booleans).  Before its first
change to a boolean on a node, hastack records the value it found there (LEDGER_DIR/<name>);
delete, or a boolean dropped from the config, puts that value back and forgets it.  A host
without SELinux (disabled, or no libselinux tools: the Debian lab's) gets nothing, and the
resource says "skipped: no SELinux on <host>" (a note at `up`, `skipped` in its live state).
"""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

from hastack.plan import Run
from hastack.render.selinux import NO_SELINUX, SELINUX_ON, no_selinux_note
from hastack.resources.base import Live, Props, on_each_node

LEDGER_DIR = "/var/lib/hastack/selinux/booleans"  # <name>: the value hastack found before its first change
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class SelinuxBooleansProps(Props):
    booleans: dict[str, bool]  # name -> the value wanted (on: True)

    @field_validator("booleans")
    @classmethod
    def _names(cls, value: dict[str, bool]) -> dict[str, bool]:
        bad = [name for name in value if not _NAME.match(name)]
        if bad:
            raise ValueError(f"{bad} are not SELinux boolean names (lower-case letters, digits, '_')")
        return value


class NodeBooleans(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    skipped: str | None = None  # "skipped: no SELinux on <node>": nothing is read or set there
    values: dict[str, bool | None] = {}  # name -> its value now; None: the host's policy has no such boolean
    before: dict[str, bool] = {}  # name -> the value recorded before hastack's first change


class SelinuxBooleansLive(Live):
    nodes: dict[str, NodeBooleans]


PROPS, LIVE = SelinuxBooleansProps, SelinuxBooleansLive
COMPARED = ("booleans",)
REPLACED = ()


def resource_id(props: SelinuxBooleansProps) -> str:
    return f"selinux-booleans-{props.layer}"


def _word(value: bool) -> str:
    return "on" if value else "off"


# ---- probe: each boolean's value (getsebool) and the value recorded before, on one node ----------
# $1 the ledger directory, then the names.  Prints `no-selinux`, or per name `value <name> on|off|
# undefined` and, where recorded, `before <name> on|off`.  getsebool prints "<name> --> on" (with
# " pending: off" after a runtime-only change).
PROBE = (f'{SELINUX_ON} || {{ echo no-selinux; exit 0; }}; ledger=$1; shift; '
         'for b; do if line=$(getsebool "$b" 2>/dev/null); then v=${line#* --> }; echo "value $b ${v%% *}"; '
         'else echo "value $b undefined"; fi; '
         '[ -f "$ledger/$b" ] && echo "before $b $(cat "$ledger/$b")"; done; exit 0')


def probe_argv(names) -> list[str]:
    return ["sh", "-c", PROBE, "sh", LEDGER_DIR, *names]


def parse_probe(node: str, stdout: str) -> NodeBooleans:
    lines = stdout.split("\n")
    if lines[0].strip() == "no-selinux":
        return NodeBooleans(skipped=no_selinux_note(node))
    values, before = {}, {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "value":
            values[parts[1]] = {"on": True, "off": False}.get(parts[2])
        elif len(parts) == 3 and parts[0] == "before" and parts[2] in ("on", "off"):
            before[parts[1]] = parts[2] == "on"
    return NodeBooleans(values=values, before=before)


def observe(props: SelinuxBooleansProps, transport_for) -> SelinuxBooleansLive:
    names = sorted(props.booleans)
    return SelinuxBooleansLive(nodes={n.name: parse_probe(n.name, transport_for(n.name).run(probe_argv(names)).stdout)
                                      for n in props.nodes})


def drifted(props: SelinuxBooleansProps, live: SelinuxBooleansLive) -> tuple[str, ...]:
    """A boolean off (or missing) where SELinux is on; a host without SELinux never drifts."""
    return ("booleans",) if any(node.skipped is None and node.values.get(name) != wanted
                                for node in live.nodes.values() for name, wanted in props.booleans.items()) else ()


# ---- plans ---------------------------------------------------------------------------------------
# $1 the ledger directory, then name=on|off.  The value found is recorded before the first change;
# all changes go into one `setsebool -P` (each rebuilds the policy: tens of seconds).
SET = (f'{SELINUX_ON} || {{ {NO_SELINUX}; exit 0; }}; ledger=$1; shift; mkdir -p "$ledger"; change=""\n'
       'for pair; do b=${pair%%=*}; v=${pair#*=}\n'
       '  line=$(getsebool "$b" 2>/dev/null) || { echo "SELinux boolean $b is not defined by the policy on '
       '$(uname -n) (getsebool -a lists those it has): install the policy module that defines it, or leave it out" >&2; '
       'exit 3; }\n'
       '  cur=${line#* --> }; cur=${cur%% *}\n'
       '  [ -f "$ledger/$b" ] || echo "$cur" > "$ledger/$b"\n'
       '  [ "$cur" = "$v" ] || change="$change $b=$v"\n'
       'done\n'
       '[ -z "$change" ] || { setsebool -P $change || exit; echo "set$change on $(uname -n)"; }\n')
# $1 the ledger directory, then the names: each put back to its recorded value, then forgotten.
RESTORE = (f'{SELINUX_ON} || {{ {NO_SELINUX}; exit 0; }}; ledger=$1; shift; change=""\n'
           'for b; do [ -f "$ledger/$b" ] || continue; v=$(cat "$ledger/$b")\n'
           '  case $v in on|off) ;; *) continue;; esac\n'
           '  line=$(getsebool "$b" 2>/dev/null) || continue; cur=${line#* --> }; cur=${cur%% *}\n'
           '  [ "$cur" = "$v" ] || change="$change $b=$v"\n'
           'done\n'
           '[ -z "$change" ] || { setsebool -P $change || exit; echo "put back$change on $(uname -n)"; }\n'
           'for b; do rm -f "$ledger/$b"; done\n')


def set_argv(booleans: dict[str, bool]) -> tuple[str, ...]:
    return ("sh", "-c", SET, "sh", LEDGER_DIR, *(f"{name}={_word(v)}" for name, v in sorted(booleans.items())))


def restore_argv(names) -> tuple[str, ...]:
    return ("sh", "-c", RESTORE, "sh", LEDGER_DIR, *sorted(names))


def plan_create(props: SelinuxBooleansProps, found=None):
    return on_each_node(props, Run(set_argv(props.booleans), notes=True))


def plan_update(old: SelinuxBooleansProps, new: SelinuxBooleansProps, live: SelinuxBooleansLive | None):
    """Booleans no longer configured go back to what they were; the configured ones are set."""
    steps = []
    if dropped := set(old.booleans) - set(new.booleans):
        steps.append(Run(restore_argv(dropped), notes=True))
    if new.booleans:
        steps.append(Run(set_argv(new.booleans), notes=True))
    return on_each_node(new, *steps)


def plan_delete(props: SelinuxBooleansProps):
    return on_each_node(props, Run(restore_argv(props.booleans), notes=True))
