"""Nagios objects on the monitoring server: each guest (host and the seed's NRPE services), and each
cluster's passive event-feed service that the alert agents submit to.

One file per guest and per cluster, so a guest's objects go with its file.  The host and service
templates (`linux-server`, `generic-service`) and the `check_nrpe` command are the server's own, as
the seed's playbook assumes (Debian's nagios4 and nagios-nrpe-plugin ship them); the one command
the feed needs is defined here under a hastack- name so it clashes with nothing.

components/monitoring.py writes each set (`nagios_file_sets`) onto the server as one NagiosObjects.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from hastack.config.models import StackConfig
from hastack.render.nrpe import NrpeCheck, nrpe_checks

PASSIVE_COMMAND = "hastack-passive-only"
_NAGIOS_VALUE = re.compile(r"^[^\x00-\x1f\x7f;!$`\\]+$")  # ';' starts a comment, '!' splits arguments, '$' a macro


@dataclass(frozen=True)
class NagiosGuest:
    host_name: str  # the guest node's name, as the seed's vm=pg1
    alias: str  # its fqdn
    address: str


def _value(value: str, what: str) -> str:
    if not _NAGIOS_VALUE.match(value) or value != value.strip():
        raise ValueError(f"{what} {value!r} cannot be a Nagios object value (control character, ;, !, $, ` or \\)")
    return value


def _define(kind: str, directives: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in directives) + 2
    body = "".join(f"    {k.ljust(width)}{v}\n" for k, v in directives)
    return f"define {kind} {{\n{body}}}\n"


def render_guest_objects(guest: NagiosGuest, checks: tuple[NrpeCheck, ...], host_template: str = "linux-server",
                         service_template: str = "generic-service") -> str:
    """A guest's host and its NRPE services, with the seed's intervals and attempts."""
    host = _value(guest.host_name, "host_name")
    parts = [f"# Managed by hastack: guest {host} and its NRPE checks.\n", _define("host", [
        ("use", _value(host_template, "host template")),
        ("host_name", host),
        ("alias", _value(guest.alias, "alias")),
        ("address", _value(guest.address, "address")),
        ("max_check_attempts", "3"),
        ("check_period", "24x7"),
        ("notification_interval", "30"),
        ("notification_period", "24x7"),
    ])]
    for check in checks:
        parts.append(_define("service", [
            ("use", _value(service_template, "service template")),
            ("host_name", host),
            ("service_description", _value(check.description, "service_description")),
            ("check_command", f"check_nrpe!{_value(check.name, 'NRPE command')}"),
            ("check_interval", "5"),
            ("retry_interval", "1"),
            ("max_check_attempts", "3"),
            ("notification_interval", "30"),
        ]))
    return "\n".join(parts)


def render_cluster_feed_objects(cluster: str, feed_service: str, nodes: tuple[str, ...],
                                host_template: str = "linux-server", service_template: str = "generic-service") -> str:
    """A host standing for the cluster, with the passive service every alert of the cluster reports to.

    The host has no address and is never checked: it only carries the feed.  The service is
    volatile with one attempt, so every non-OK event is a hard state change that Nagios logs and
    notifies; freshness is not checked, since a quiet cluster sends nothing.
    """
    name = _value(cluster, "cluster name")
    return "\n".join([
        f"# Managed by hastack: the alert feed of cluster {name} (nodes {', '.join(nodes)}).\n",
        _define("host", [
            ("use", _value(host_template, "host template")),
            ("host_name", name),
            ("alias", _value(f"Pacemaker cluster {name}", "alias")),
            ("active_checks_enabled", "0"),
            ("passive_checks_enabled", "1"),
            ("check_command", PASSIVE_COMMAND),
            ("max_check_attempts", "1"),
            ("check_period", "24x7"),
            ("notification_interval", "0"),
            ("notification_period", "24x7"),
        ]),
        _define("service", [
            ("use", _value(service_template, "service template")),
            ("host_name", name),
            ("service_description", _value(feed_service, "feed service")),
            ("active_checks_enabled", "0"),
            ("passive_checks_enabled", "1"),
            ("check_command", PASSIVE_COMMAND),
            ("is_volatile", "1"),
            ("max_check_attempts", "1"),
            ("check_freshness", "0"),
            ("flap_detection_enabled", "0"),
            ("notification_interval", "0"),
        ]),
    ])


def render_passive_command(plugin_dir: str = "/usr/lib/nagios/plugins") -> str:
    """The check_command of the feed (never run: its active checks are off)."""
    return _define("command", [
        ("command_name", PASSIVE_COMMAND),
        ("command_line", f'{plugin_dir.rstrip("/")}/check_dummy 3 "passive only: results come from Pacemaker alerts"'),
    ])


@dataclass(frozen=True)
class NagiosFileSet:
    """Files written and removed together: a guest's, a cluster's feed, the feed's command."""

    key: str  # names its resource: command, <guest node>, cluster-<cluster>
    files: dict[str, str]  # file name in monitoring.nagios.objects_dir -> content
    guest_vm: str | None = None  # the VM a guest's objects go with
    needs_command: bool = False  # refers to PASSIVE_COMMAND, defined by the `command` set


def nagios_file_sets(config: StackConfig) -> tuple[NagiosFileSet, ...]:
    """Every file set the Nagios server gets for the stack: the feed's command, one per guest node
    (<name>.cfg), one per alerting cluster (cluster-<name>.cfg).  None without hastack:monitoring
    (or with it disabled)."""
    monitoring = config.monitoring_on()
    if monitoring is None:
        return ()
    nagios = monitoring.nagios
    checks = nrpe_checks(monitoring.thresholds, monitoring.plugin_dir)
    sets = [NagiosFileSet("command", {f"{PASSIVE_COMMAND}.cfg": render_passive_command(monitoring.plugin_dir)})]
    for node in config.guest.nodes if config.guest else ():
        guest = NagiosGuest(node.name, node.fqdn, str(node.mgmt_address))
        sets.append(NagiosFileSet(node.name, {f"{node.name}.cfg": render_guest_objects(
            guest, checks, nagios.host_template, nagios.service_template)}, guest_vm=node.vm))
    for cluster in alerting_clusters(config):
        sets.append(NagiosFileSet(f"cluster-{cluster.name}", {f"cluster-{cluster.name}.cfg": render_cluster_feed_objects(
            cluster.name, monitoring.feed_service, tuple(n.name for n in cluster.nodes), nagios.host_template,
            nagios.service_template)}, needs_command=True))
    return tuple(sets)


def alerting_clusters(config: StackConfig) -> tuple:
    """The clusters of monitoring.alert_layers, in its order (none without monitoring)."""
    monitoring = config.monitoring_on()
    layers = {"hypervisor": config.hypervisor, "guest": config.guest}
    return tuple(layers[layer] for layer in monitoring.alert_layers) if monitoring else ()


def render_nagios_files(config: StackConfig) -> dict[str, str]:
    """Every file of every set, by name."""
    return {name: text for fs in nagios_file_sets(config) for name, text in fs.files.items()}
