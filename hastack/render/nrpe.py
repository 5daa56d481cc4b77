"""NRPE on the guests: its config, check_pacemaker, and the sudo rule check_pacemaker needs.

Departures from the seed, each closing a hole it leaves open:
- The seed's sudo rule, `nrpe ALL=(root) NOPASSWD: /usr/sbin/crm_mon`, lets the NRPE user run
  crm_mon as root with any arguments, and crm_mon writes files (`--output-to`) and runs programs
  (`--external-agent`).  This rule permits one exact command line.  (Adding the NRPE user to
  haclient instead would let it change the CIB.)
- The seed adds the Nagios server to `allowed_hosts` next to localhost; here it is the only entry.
  NRPE adds every `allowed_hosts` line it reads to one list, so a fragment in nrpe.d cannot take
  an address away: hastack's NRPE config is a whole file of its own, which NRPE is started with
  (`nrpe -c`), and the package's nrpe.cfg is left as it is.
- `dont_blame_nrpe=0`: a check takes no arguments from the network; thresholds are fixed here.

components/monitoring.py installs them on the guests.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from hastack.config.models import CheckThresholds
from hastack.facts import cluster_health

NRPE_CONFIG_PATH = "/etc/nagios/nrpe-hastack.cfg"
NRPE_PORT = 5666
SUDOERS_PATH = "/etc/sudoers.d/nrpe-pacemaker"  # the seed's
CHECK_PACEMAKER_PATH = "/usr/local/lib/nagios/plugins/check_pacemaker"
CRM_MON_COMMAND = " ".join(cluster_health.CRM_MON_ARGV[2:])  # what sudo runs, exactly

_SAFE_ARG = re.compile(r"^[A-Za-z0-9_./%,:=@+-]+$")


@dataclass(frozen=True)
class NrpeCheck:
    name: str  # command[<name>], and check_nrpe!<name> on the Nagios side
    description: str  # the Nagios service_description (the seed's)
    argv: tuple[str, ...]

    @property
    def command_line(self) -> str:
        return " ".join(self.argv)


def nrpe_checks(thresholds: CheckThresholds, plugin_dir: str = "/usr/lib/nagios/plugins") -> tuple[NrpeCheck, ...]:
    """The seed's four checks (its service descriptions) and check_pacemaker, with their thresholds."""
    t, p = thresholds, plugin_dir.rstrip("/")
    pacemaker = [CHECK_PACEMAKER_PATH, "-w", str(t.failed_actions_warning)]
    if t.failed_actions_critical is not None:
        pacemaker += ["-c", str(t.failed_actions_critical)]
    checks = (
        NrpeCheck("check_load", "CPU Load", (f"{p}/check_load", "-r", "-w", t.load_warning, "-c", t.load_critical)),
        NrpeCheck("check_disk", "Disk /", (f"{p}/check_disk", "-w", t.disk_warning, "-c", t.disk_critical, "-p", "/")),
        NrpeCheck("check_users", "Users", (f"{p}/check_users", "-w", str(t.users_warning), "-c", str(t.users_critical))),
        NrpeCheck("check_swap", "Swap", (f"{p}/check_swap", "-w", t.swap_warning, "-c", t.swap_critical,
                                         *(("-n", t.swap_absent) if t.swap_absent else ()))),
        NrpeCheck("check_pacemaker", "Pacemaker", tuple(pacemaker)),
    )
    for check in checks:
        # NRPE runs a command line through no shell, but split on spaces: keep every word plain.
        bad = [a for a in check.argv if not _SAFE_ARG.match(a)]
        if bad:
            raise ValueError(f"NRPE command {check.name} has words NRPE cannot pass as they are: {bad}")
    return checks


def render_nrpe_config(nagios_address: str, checks: tuple[NrpeCheck, ...], nrpe_user: str = "nagios",
                       port: int = NRPE_PORT) -> str:
    """The whole NRPE config (for `nrpe -c NRPE_CONFIG_PATH`): only the Nagios server may ask."""
    lines = [
        "# Managed by hastack: the guests' NRPE.  A whole file, not an nrpe.d fragment: NRPE adds every",
        "# allowed_hosts line to one list, so only a file of its own can name the Nagios server alone.",
        f"server_port={port}",
        f"allowed_hosts={nagios_address}",
        f"nrpe_user={nrpe_user}",
        f"nrpe_group={nrpe_user}",
        "# No arguments from the network, no command substitution: every check is fixed below.",
        "dont_blame_nrpe=0",
        "allow_bash_command_substitution=0",
        "command_timeout=60",
        "connection_timeout=300",
        "debug=0",
    ]
    lines += [f"command[{c.name}]={c.command_line}" for c in checks]
    return "\n".join(lines) + "\n"


def render_nrpe_service_dropin(nrpe_binary: str = "/usr/sbin/nrpe", config_path: str = NRPE_CONFIG_PATH) -> str:
    """A systemd drop-in for the package's unit (Debian: nagios-nrpe-server.service, RHEL: nrpe.service)
    that starts NRPE on hastack's whole config instead of the package's nrpe.cfg."""
    return ("# Managed by hastack: NRPE reads hastack's config only (its allowed_hosts is the Nagios server).\n"
            "[Service]\n"
            "ExecStart=\n"
            f"ExecStart={nrpe_binary} -c {config_path} -f\n")


def render_nrpe_sudoers(nrpe_user: str = "nagios") -> str:
    """The NRPE user may run exactly `crm_mon --one-shot --output-as xml` as root, nothing else."""
    return (
        "# Managed by hastack: check_pacemaker reads the cluster status as root with this one command line;\n"
        "# any other crm_mon arguments (--output-to, --external-agent) are refused.\n"
        f"Defaults:{nrpe_user} !requiretty\n"
        f"{nrpe_user} ALL=(root) NOPASSWD: {CRM_MON_COMMAND}\n"
    )


def render_check_pacemaker() -> str:
    """The plugin script: hastack.facts.cluster_health as it is, run by the hosts' python3."""
    source = inspect.getsource(cluster_health)
    return ("#!/usr/bin/python3\n"
            "# Managed by hastack: check_pacemaker, the NRPE plugin (hastack/facts/cluster_health.py).\n"
            + source)
