"""Monitoring at both layers (hastack:monitoring; hastack/render/alert_agent.py, nrpe.py, nagios.py):

- on every node of an alerting layer, the alert agent and its 0600 send_nsca config, before the
  layer's PcsClusterConfig registers the alert that runs it (`alert_files`);
- on the guests, NRPE on hastack's whole config with check_pacemaker and its one sudo rule
  (`nrpe_files`); the firewall opening is data in hastack.resources.firewall;
- on the Nagios server (when it has SSH), the nsca-ng authorization and one NagiosObjects per
  guest and per alerting cluster (`NagiosServer`), each guest's after that guest's NRPE runs.

A stack without the block, or with `enabled: false`, gets none of these.
"""
from __future__ import annotations

import pulumi

from components.connection import child, ssh_ref
from hastack.config.models import Monitoring, StackConfig
from hastack.render.alert_agent import (
    AGENT_PATH, CONFIG_MODE, CONFIG_OWNER, CONFIG_PATH, render_alert_agent, render_nsca_authorize,
    render_send_nsca_config,
)
from hastack.render.nagios import alerting_clusters, nagios_file_sets
from hastack.render.nrpe import (
    CHECK_PACEMAKER_PATH, NRPE_CONFIG_PATH, SUDOERS_PATH, nrpe_checks, render_check_pacemaker, render_nrpe_config,
    render_nrpe_service_dropin, render_nrpe_sudoers,
)
from providers.nagios_objects import NagiosObjects
from providers.remote_file import RemoteFile
from providers.systemd_unit import SystemdUnit

SERVER = "nagios-server"  # the Nagios server's node name in its resources' props


def alert_files(parent: pulumi.Resource, name: str, base: dict, cluster_name: str, monitoring: Monitoring | None,
                layer: str, depends_on=None) -> list[RemoteFile]:
    """NAME-alert-agent and NAME-alert-nsca-config on BASE's nodes, when LAYER alerts (else none)."""
    if monitoring is None or layer not in monitoring.alert_layers:
        return []
    config = render_send_nsca_config(str(monitoring.nagios.address), monitoring.nsca.identity,
                                     monitoring.nsca.password.get_secret_value(), monitoring.nagios.nsca_port)
    return [
        RemoteFile(f"{name}-alert-agent", {**base, "path": AGENT_PATH, "mode": 0o755,
                                           "content": render_alert_agent(cluster_name, monitoring.feed_service)},
                   child(parent, depends_on)),
        # Pacemaker runs the agent as hacluster: the file is its alone.
        RemoteFile(f"{name}-alert-nsca-config", {**base, "path": CONFIG_PATH, "mode": CONFIG_MODE, "secret": True,
                                                 "owner": CONFIG_OWNER, "content": pulumi.Output.secret(config)},
                   child(parent, depends_on)),
    ]


def nrpe_files(parent: pulumi.Resource, name: str, base: dict, monitoring: Monitoring | None,
               depends_on=None) -> list[pulumi.Resource]:
    """The guests' NRPE: check_pacemaker, the sudo rule (visudo-checked), hastack's whole NRPE config
    and the unit's drop-in (each restarting NRPE when it changes), the unit enabled last."""
    if monitoring is None:
        return []
    unit = monitoring.nrpe_unit
    restart = ["sh", "-c", 'systemctl daemon-reload && systemctl try-restart "$1"', "sh", unit]
    checks = nrpe_checks(monitoring.thresholds, monitoring.plugin_dir)
    files = [
        RemoteFile(f"{name}-check-pacemaker", {**base, "path": CHECK_PACEMAKER_PATH, "mode": 0o755,
                                               "content": render_check_pacemaker()}, child(parent, depends_on)),
        RemoteFile(f"{name}-nrpe-sudoers", {**base, "path": SUDOERS_PATH, "mode": 0o440,
                                            "content": render_nrpe_sudoers(monitoring.nrpe_user),
                                            "validate_argv": ["visudo", "-c", "-q", "-f"]}, child(parent, depends_on)),
        RemoteFile(f"{name}-nrpe-config", {**base, "path": NRPE_CONFIG_PATH, "mode": 0o644, "then_argv": restart,
                                           "content": render_nrpe_config(str(monitoring.nagios.address), checks,
                                                                         monitoring.nrpe_user)},
                   child(parent, depends_on)),
        RemoteFile(f"{name}-nrpe-dropin", {**base, "path": f"/etc/systemd/system/{unit}.d/hastack.conf",
                                           "mode": 0o644, "then_argv": restart,
                                           "content": render_nrpe_service_dropin(monitoring.nrpe_binary)},
                   child(parent, depends_on)),
    ]
    enabled = SystemdUnit(f"{name}-nrpe-enabled", {**base, "unit": unit, "enabled": True}, child(parent, files))
    return [*files, enabled]


class NagiosServer(pulumi.ComponentResource):
    """What hastack writes on the Nagios server: the nsca-ng authorization, the feed's command, each
    guest's objects (after GUEST_READY[vm], its NRPE) and each alerting cluster's feed."""

    def __init__(self, name: str, config: StackConfig, guest_ready: dict[str, list],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("hastack:index:NagiosServer", name, None, opts)
        monitoring = config.monitoring_on()
        nagios = monitoring.nagios
        ref, secret = ssh_ref(SERVER, nagios.ssh)
        base = {"layer": "monitoring", "nodes": pulumi.Output.secret([ref]) if secret else [ref]}
        clusters = tuple(c.name for c in alerting_clusters(config))
        authorize = render_nsca_authorize(monitoring.nsca.identity, monitoring.nsca.password.get_secret_value(),
                                          clusters, monitoring.feed_service)
        RemoteFile(f"{name}-nsca-authorize", {**base, "path": nagios.nsca_authorize_file, "mode": 0o640,
                                              "owner": nagios.nsca_authorize_owner, "secret": True,
                                              "content": pulumi.Output.secret(authorize),
                                              "then_argv": list(nagios.nsca_reload_command)}, child(self))
        objects = {"objects_dir": nagios.objects_dir, "verify_argv": list(nagios.verify_command),
                   "reload_argv": list(nagios.reload_command)}
        command = None
        for file_set in nagios_file_sets(config):
            after = [command] if file_set.needs_command else list(guest_ready.get(file_set.guest_vm, ()))
            resource = NagiosObjects(f"{name}-{file_set.key}", {**base, **objects, "files": file_set.files},
                                     child(self, after))
            command = resource if file_set.key == "command" else command
        self.register_outputs({"address": str(nagios.address)})

