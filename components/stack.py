"""The whole program: config in, components out, stack outputs for other projects."""
from __future__ import annotations

import pulumi

from components.guest_pg_cluster import GuestPgCluster, GuestPgClusterArgs
from components.monitoring import NagiosServer
from components.hypervisor_cluster import HypervisorCluster, HypervisorClusterArgs
from components.protected_vm import ProtectedVM, ProtectedVMArgs
from hastack.config.models import StackConfig
from hastack.layout import vm_resource_id
from hastack.resources.firewall import layer_openings


def build_stack(config: StackConfig) -> dict:
    hv = config.hypervisor
    scores = tuple((vm_resource_id(vm.name), vm.location_score) for vm in config.vms)
    monitoring = config.monitoring_on()
    cluster = HypervisorCluster(hv.name, HypervisorClusterArgs(
        hv, layer_openings(config, "hypervisor"), scores, vm_bridges=tuple(b for vm in config.vms for b in vm.networks),
        monitoring=monitoring))
    vms = {
        vm.name: ProtectedVM(vm.name, ProtectedVMArgs(vm, hv, hv.libvirt_domain_type, tuple(cluster.vm_prerequisites),
                                                      tuple(cluster.firewalls)))
        for vm in config.vms
    }
    outputs = {
        "cluster_name": hv.name,
        "nodes": {n.name: {"fqdn": n.fqdn, "mgmt_address": str(n.mgmt_address),
                           "ring_addresses": [str(a) for a in n.ring_addresses]} for n in hv.nodes},
        "vms": {name: vm.outputs for name, vm in vms.items()},
    }
    guest_ready: dict[str, list] = {}
    if config.guest is not None:
        guest_vms = [vms[n.vm].enabled for n in config.guest.nodes]
        guest = GuestPgCluster(config.guest.name, GuestPgClusterArgs(config, guest_vms))
        outputs["guest"] = guest.outputs
        # A guest's Nagios objects go with its VM, and are checked once its NRPE runs.
        guest_ready = {n.vm: [vms[n.vm].enabled, *guest.nrpe] for n in config.guest.nodes}
    if monitoring is not None and monitoring.nagios.ssh is not None:
        NagiosServer("monitoring", config, guest_ready)
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
