"""GuestPgCluster: PostgreSQL on DRBD inside two protected VMs, fenced through the hypervisors.

Hypervisor side: the locked-down fence account (forced command, exact sudoers, root-owned keys).
Guest side: each guest's firewall (before corosync and DRBD), corosync/Pacemaker, with
hastack:monitoring the alert agent and NRPE (components/monitoring.py), the fence agent
with its key and the hypervisors' host keys, SELinux modules and booleans, the OCF helper links
pgsql needs on RHEL (guest.ocf_helper_links), DRBD pgdata (filesystem, initdb and, with SELinux,
its labels on its first primary only), and the chain promote -> fs -> pgsql -> VIP (and the
config's chain_extras) with its orders and colocations (hastack.layout.guest_chain).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi

from components.connection import child, node_refs
from components.firewalls import node_firewalls
from components.monitoring import alert_files, nrpe_files
from hastack.config.load import PROJECT_ROOT
from hastack.config.models import StackConfig, duration_ms
from hastack.layout import (
    alert_specs,
    drbd_device,
    drbd_hosts,
    guest_drbd_ports,
    guest_fence_hypervisors,
    guest_fence_specs,
    guest_node_to_vm,
    guest_objects,
    initdb_path,
    layer_selinux_booleans,
    ocf_helper_links_on,
    pgdata_init_script,
)
from hastack.render.drbd import render_global_common
from hastack.render.guest_fence import (
    AGENT_DIR,
    KEY_PATH,
    KNOWN_HOSTS_PATH,
    SUDOERS_PATH_TEMPLATE,
    WRAPPER_PATH,
    account_home,
    render_authorized_keys,
    render_fence_agent,
    render_fence_vm_wrapper,
    render_known_hosts,
    render_sudoers,
)
from hastack.reports import HastackError
from hastack.resources import ocf_helper_links as helpers
from hastack.resources.firewall import layer_openings
from hastack.resources.host_preflight import CLUSTER_COMMANDS, agent_command, layer_needs
from hastack.resources.hosts_entries import layer_entries
from providers.corosync_cluster import CorosyncCluster
from providers.drbd_agent_patch import DrbdAgentPatch
from providers.drbd_resource import DrbdResource
from providers.host_preflight import HostPreflight
from providers.hosts_entries import HostsEntries
from providers.ocf_helper_links import OcfHelperLinks
from providers.pcs_cluster_config import PcsClusterConfig
from providers.pcs_constraint import PcsConstraint
from providers.pcs_resource import PcsResource
from providers.pcs_resource_enable import PcsResourceEnable
from providers.remote_file import RemoteFile
from providers.selinux_booleans import SelinuxBooleans
from providers.selinux_module import SelinuxModule
from providers.stonith_device import StonithDevice
from providers.system_account import SystemAccount
from providers.systemd_unit import SystemdUnit

LAYER = "guest"


@dataclass(frozen=True)
class GuestPgClusterArgs:
    stack: StackConfig
    guest_vms_ready: list = field(default_factory=list)  # the ProtectedVMs the guests run in


def hypervisor_host_keys(stack: StackConfig) -> dict[str, list[str]]:
    """Each address the guests' fence agent uses -> the host keys of that hypervisor alone:
    configured for the address, or the keys pinned for that node's own SSH."""
    fencing = stack.guest.fencing
    out: dict[str, list[str]] = {}
    for address, pacemaker_name in guest_fence_hypervisors(stack).items():
        configured = next((keys for a, keys in fencing.hypervisor_host_keys.items() if str(a) == address), None)
        if configured is not None:
            out[address] = sorted(set(configured))
            continue
        node = next(n for n in stack.hypervisor.nodes if n.pacemaker_name == pacemaker_name)
        keys = list(node.ssh.host_keys)
        if node.ssh.known_hosts_file:
            alias = node.ssh.host if node.ssh.port == 22 else f"[{node.ssh.host}]:{node.ssh.port}"
            known_hosts = PROJECT_ROOT / node.ssh.known_hosts_file
            if not known_hosts.is_file():
                raise HastackError("KNOWN_HOSTS_MISSING", (
                    f"hypervisor.nodes[{node.name}].ssh.known_hosts_file: {node.ssh.known_hosts_file} does not "
                    "exist, and the guests' fence account pins the hypervisors' keys from it: give the file (the "
                    "lab stack's is written by `python -m hastack lab up`), or the keys in ssh.host_keys"))
            for line in known_hosts.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and not line.startswith("#") and alias in parts[0].split(","):
                    keys.append(" ".join(parts[1:3]))
        out[address] = sorted(set(keys))
    return out


class GuestPgCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: GuestPgClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hastack:index:GuestPgCluster", name, None, opts)
        stack = args.stack
        guest, hv, fencing = stack.guest, stack.hypervisor, stack.guest.fencing
        node_to_vm = guest_node_to_vm(stack)
        domains = sorted(node_to_vm.values())
        hv_base = {"layer": "hypervisor", "nodes": node_refs(hv.nodes)}
        base = {"layer": LAYER, "nodes": node_refs(guest.nodes)}
        home = account_home(fencing.account)

        # -- the hypervisors' side of guest fencing
        account = SystemAccount(f"{name}-fence-account", {**hv_base, "account": fencing.account, "home": home,
                                                          "linger": True}, child(self))
        hv_files = [
            RemoteFile(f"{name}-fence-wrapper", {**hv_base, "path": WRAPPER_PATH,
                                                 "content": render_fence_vm_wrapper(domains), "mode": 0o755}, child(self)),
            RemoteFile(f"{name}-fence-sudoers", {**hv_base, "path": SUDOERS_PATH_TEMPLATE.format(account=fencing.account),
                                                 "content": render_sudoers(fencing.account, domains), "mode": 0o440,
                                                 "validate_argv": ["visudo", "-c", "-q", "-f"]}, child(self)),
            RemoteFile(f"{name}-fence-authorized-keys", {**hv_base, "path": f"{home}/.ssh/authorized_keys",
                                                         "content": render_authorized_keys(fencing.public_key),
                                                         "mode": 0o644}, child(self, [account])),
        ]

        # -- the guests: their VMs run, and they have what hastack needs, before any change
        objects = guest_objects(guest)
        chain_agents = (objects.drbd_clone.agent, *(spec.agent for spec in objects.chain))
        preflight = HostPreflight(f"{name}-preflight", {
            **base, "commands": [*CLUSTER_COMMANDS, guest.pgctl, f"mkfs.{guest.fstype}", *map(agent_command, chain_agents)],
            "needs": {n: v.model_dump() for n, v in layer_needs(guest).items()},
        }, child(self, list(args.guest_vms_ready)))
        guests_up = [preflight]
        # Pacemaker owns PostgreSQL and DRBD here: their units are off at boot, and turned off before
        # the cluster starts (disabling a SysV-wrapped unit reloads systemd, which stalls other stops).
        units_off = [SystemdUnit(f"{name}-{unit}-off", {**base, "unit": unit, "enabled": False}, child(self, guests_up))
                     for unit in ("postgresql.service", "drbd.service")]
        if guest.hosts_file.enabled:  # the guests, their rings by name; nothing waits for it
            HostsEntries(f"{name}-hosts", {**base, "entries": [e.model_dump() for e in layer_entries(guest, LAYER)]},
                         child(self, guests_up))
        # Knet links, pgdata and PostgreSQL's clients opened before the cluster or DRBD needs them.
        firewalls = node_firewalls(self, name, LAYER, guest.nodes, guest.firewall, layer_openings(stack, LAYER),
                                   guests_up)
        cluster = CorosyncCluster(f"{name}-corosync", {
            **base, "cluster_name": guest.name, "token_ms": guest.token_ms,
            "pacemaker_names": {n.name: n.pacemaker_name for n in guest.nodes},
            "ring_addresses": {n.name: [str(a) for a in n.ring_addresses] for n in guest.nodes},
            "node_addresses": {n.name: [str(n.mgmt_address)] for n in guest.nodes},
        }, child(self, [*guests_up, *units_off, *firewalls]))
        monitoring = stack.monitoring_on()
        agent = alert_files(self, name, base, guest.name, monitoring, LAYER, guests_up)
        config = PcsClusterConfig(f"{name}-cluster-config", {
            **base, "properties": guest.properties, "resource_defaults": guest.resource_defaults,
            "alerts": [a.model_dump() for a in alert_specs(guest.alerts, monitoring, LAYER)], "failback": guest.failback.value,
            "chain": [spec.id for spec in objects.chain],
        }, child(self, [cluster, *agent]))
        # NRPE answers the Nagios server through the guests' firewall (its opening is data there).
        self.nrpe = nrpe_files(self, name, base, monitoring, [*guests_up, *firewalls])
        hv_addresses = [str(a) for a in fencing.hypervisor_addresses]
        guest_files = [
            RemoteFile(f"{name}-fence-key", {**base, "path": KEY_PATH, "mode": 0o600, "secret": True,
                                             "content": pulumi.Output.secret(fencing.private_key.get_secret_value())},
                       child(self, guests_up)),
            RemoteFile(f"{name}-fence-known-hosts", {**base, "path": KNOWN_HOSTS_PATH, "mode": 0o644,
                                                     "content": render_known_hosts(hypervisor_host_keys(stack))},
                       child(self, guests_up)),
            # After the hypervisors' side: a new agent may use a verb that only the new wrapper has.
            RemoteFile(f"{name}-fence-agent", {**base, "path": f"{AGENT_DIR}/{fencing.agent}", "mode": 0o755,
                                               "content": render_fence_agent(fencing.agent, node_to_vm,
                                                                             guest_fence_hypervisors(stack),
                                                                             fencing.account)},
                       child(self, [*guests_up, *hv_files])),
        ]
        fence_ready = [config, *guest_files, *hv_files]
        fence_devices = [
            StonithDevice(f"{name}-{spec.id}", {**base, "spec": spec.model_dump(), "fences_node": fenced,
                                                "secret_values": {}, "fence_path": hv_addresses,
                                                "start_wait_s": duration_ms(guest.start_wait) // 1000}, child(self, fence_ready))
            for spec, fenced in guest_fence_specs(guest)
        ]
        selinux = [SelinuxModule(f"{name}-selinux-{m.name}", {**base, "name": m.name, "priority": m.priority,
                                                              "te": (PROJECT_ROOT / m.source).read_text()},
                                 child(self, guests_up)) for m in guest.selinux_modules]
        # Where SELinux is on (a host without it is skipped, and the resource says so).
        booleans = SelinuxBooleans(f"{name}-selinux-booleans", {**base, "booleans": layer_selinux_booleans(LAYER, monitoring)},
                                   child(self, guests_up))
        patch = DrbdAgentPatch(f"{name}-drbd-agent-patch", dict(base), child(self, guests_up))
        # pgsql's helpers where the RHEL agent sources them, before pgsql exists.
        links = [OcfHelperLinks(f"{name}-ocf-helper-links", {**base, "source_dir": helpers.SOURCE_DIR,
                                                             "link_dir": helpers.LINK_DIR}, child(self, guests_up))] \
            if ocf_helper_links_on(guest) else []
        drbd_global = RemoteFile(f"{name}-drbd-global-common", {
            **base, "path": "/etc/drbd.d/global_common.conf", "content": render_global_common(guest.drbd_options),
        }, child(self, guests_up))

        preferred = guest.nodes[0].name
        vm_network = _vm_network(stack)
        drbd = DrbdResource(f"{name}-drbd", {
            **base, "name": guest.drbd.resource, "minor": guest.drbd.minor, "disk": guest.drbd.disk,
            "hosts": drbd_hosts(guest.nodes), "ports": guest_drbd_ports(guest),
            "options": guest.drbd_options.model_dump(mode="json"), "preferred_node": preferred,
            "initial_fill": [["sh", "-c", pgdata_init_script(guest), "sh", drbd_device(guest.drbd.minor), guest.mountpoint,
                              guest.pgdata, guest.fstype, initdb_path(guest.pgctl), vm_network]],
        }, child(self, [drbd_global, patch, *selinux, booleans, *units_off, *firewalls]))
        ready = [drbd, *fence_devices, *links]
        clone = PcsResource(f"{name}-drbd-clone", {**base, "spec": objects.drbd_clone.model_dump()}, child(self, ready))
        primitives = [clone] + [
            PcsResource(f"{name}-{spec.id}", {**base, "spec": spec.model_dump()}, child(self, ready))
            for spec in objects.chain
        ]
        constraints = [PcsConstraint(f"{name}-{spec.id}", {**base, "spec": spec.model_dump()}, child(self, primitives))
                       for spec in (*objects.orders, *objects.colocations)]
        for spec in objects.chain:
            PcsResourceEnable(f"{name}-{spec.id}-enable", {**base, "resource_id": spec.id,
                                                             "start_wait_s": duration_ms(guest.start_wait) // 1000},
                              child(self, constraints))
        self.outputs = {"cluster_name": guest.name, "vip": str(guest.vip), "nodes": [n.name for n in guest.nodes],
                        "pgdata_device": drbd_device(guest.drbd.minor)}
        self.register_outputs(self.outputs)


def _vm_network(stack: StackConfig) -> str:
    for vm in stack.vms:
        if vm.address is not None:
            return str(vm.address.network)
    return str(ipaddress.ip_network(f"{stack.guest.vip}/{stack.guest.vip_cidr_netmask}", strict=False))
