"""HypervisorCluster: each hypervisor's firewall, corosync/Pacemaker on the hypervisors, properties
and defaults, IPMI fencing with the tiebreaker delay, alerts (and the alert agent, with
hastack:monitoring), SELinux modules and booleans, the drbd agent patch and DRBD's global config."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.connection import child, node_refs
from components.firewalls import node_firewalls
from hastack.config.load import PROJECT_ROOT
from components.monitoring import alert_files
from hastack.config.models import HypervisorCluster as HypervisorConfig, Monitoring, duration_ms
from hastack.layout import alert_specs, hypervisor_fence_specs, layer_selinux_booleans
from hastack.render.drbd import render_global_common
from hastack.resources.host_preflight import CLUSTER_COMMANDS, agent_command, layer_needs
from hastack.resources.hosts_entries import layer_entries
from providers.corosync_cluster import CorosyncCluster
from providers.drbd_agent_patch import DrbdAgentPatch
from providers.host_preflight import HostPreflight
from providers.hosts_entries import HostsEntries
from providers.pcs_cluster_config import PcsClusterConfig
from providers.remote_file import RemoteFile
from providers.selinux_booleans import SelinuxBooleans
from providers.selinux_module import SelinuxModule
from providers.stonith_device import StonithDevice

LAYER = "hypervisor"


@dataclass(frozen=True)
class HypervisorClusterArgs:
    config: HypervisorConfig
    # node -> what its firewall opens: knet links and every VM's DRBD ports (firewall.layer_openings)
    openings: dict
    location_scores: tuple[tuple[str, int], ...] = ()  # (resource id, score) of every VM preference
    vm_bridges: tuple[str, ...] = ()  # the host bridges the VMs attach to
    monitoring: Monitoring | None = None  # StackConfig.monitoring_on(): the alert agent, if this layer alerts


class HypervisorCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: HypervisorClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hastack:index:HypervisorCluster", name, None, opts)
        hv, location_scores = args.config, args.location_scores
        nodes = node_refs(hv.nodes)
        base = {"layer": LAYER, "nodes": nodes}

        # Before any change: the hosts have the software, addresses and bridges hastack needs.
        agents = ("ocf:linbit:drbd", "VirtualDomain", *sorted({spec.agent for spec, _, _ in hypervisor_fence_specs(hv)}))
        self.preflight = HostPreflight(f"{name}-preflight", {
            **base, "commands": [*CLUSTER_COMMANDS, "virsh", "lvcreate", *map(agent_command, agents)],
            "drbd_dialect": hv.drbd.dialect.value,
            "needs": {n: v.model_dump() for n, v in layer_needs(hv, args.vm_bridges).items()},
        }, child(self))
        first = [self.preflight]
        # Open before anything talks across the rings; each VM's DRBD resource waits for them too.
        self.firewalls = node_firewalls(self, name, LAYER, hv.nodes, hv.firewall, args.openings, first)
        self.cluster = CorosyncCluster(f"{name}-corosync", {
            **base, "cluster_name": hv.name, "token_ms": hv.token_ms,
            "pacemaker_names": {n.name: n.pacemaker_name for n in hv.nodes},
            "ring_addresses": {n.name: [str(a) for a in n.ring_addresses] for n in hv.nodes},
            "node_addresses": {n.name: [str(a) for a in (n.mgmt_address, n.vm_bridge_address) if a] for n in hv.nodes},
        }, child(self, self.firewalls))
        ready = [self.cluster]
        # The agent is on every node before the alert that runs it is registered.
        self.alert_files = alert_files(self, name, base, hv.name, args.monitoring, LAYER)
        self.config = PcsClusterConfig(f"{name}-cluster-config", {
            **base, "properties": hv.properties, "resource_defaults": hv.resource_defaults,
            "alerts": [a.model_dump() for a in alert_specs(hv.alerts, args.monitoring, LAYER)], "failback": hv.failback.value,
            "location_scores": dict(location_scores),
        }, child(self, [*ready, *self.alert_files]))
        self.fence_devices = [
            StonithDevice(f"{name}-{spec.id}", {
                **base, "spec": spec.model_dump(), "fences_node": fenced,
                "start_wait_s": duration_ms(hv.start_wait) // 1000,
                "secret_values": {k: pulumi.Output.secret(v) for k, v in secrets.items()},
            }, child(self, ready))
            for spec, fenced, secrets in hypervisor_fence_specs(hv)
        ]
        self.selinux_modules = [
            SelinuxModule(f"{name}-selinux-{m.name}", {
                **base, "name": m.name, "te": (PROJECT_ROOT / m.source).read_text(), "priority": m.priority,
            }, child(self, first))
            for m in hv.selinux_modules
        ]
        # Set where SELinux is on; a host without it is skipped, and the resource says so.
        self.selinux_booleans = SelinuxBooleans(f"{name}-selinux-booleans", {
            **base, "booleans": layer_selinux_booleans(LAYER, args.monitoring),
        }, child(self, first))
        self.agent_patch = DrbdAgentPatch(f"{name}-drbd-agent-patch", dict(base), child(self, first)) if hv.drbd_agent_patch else None
        self.drbd_global = RemoteFile(f"{name}-drbd-global-common", {
            **base, "path": "/etc/drbd.d/global_common.conf", "content": render_global_common(hv.drbd), "mode": 0o644,
        }, child(self, first))
        # The drbd module must load at boot, before Pacemaker's agent needs it (a fenced node
        # comes back through a cold boot).  DRBD 9 splits out the TCP transport.
        modules = "drbd\ndrbd_transport_tcp\n" if hv.drbd.dialect.value == "9" else "drbd\n"
        self.drbd_modules = RemoteFile(f"{name}-drbd-modules-load", {
            **base, "path": "/etc/modules-load.d/drbd.conf", "content": modules, "mode": 0o644,
        }, child(self, first))
        # The nodes, their rings and BMCs by name, as the seed's operator adds them; nothing waits for it.
        self.hosts = HostsEntries(f"{name}-hosts", {
            **base, "entries": [e.model_dump() for e in layer_entries(hv, LAYER)],
        }, child(self, first)) if hv.hosts_file.enabled else None
        # What a VM needs in place before its DRBD clone may exist.
        self.vm_prerequisites = [self.cluster, self.config, *self.fence_devices, self.drbd_global, self.drbd_modules,
                                 *([self.agent_patch] if self.agent_patch else []), *self.selinux_modules,
                                 self.selinux_booleans]
        self.register_outputs({"cluster_name": hv.name})
