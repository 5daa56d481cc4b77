"""ProtectedVM: one VM's LV, DRBD resource, promotable clone, domain, constraints and start.

Creation order is the safety argument: the VirtualDomain is created disabled, its order,
colocation and location constraints follow, and only then does PcsResourceEnable let it start.
Pulumi deletes in reverse, so teardown stops the VM before its constraints and storage go.
A VM with cloud_init also gets its SSH host key (VmHostKey, state only) and its first boot
(VmFirstBoot) between its domain's definition and its DRBD clone; one without has neither.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.connection import child, node_refs
from hastack.config.models import HypervisorCluster as HypervisorConfig
from hastack.config.models import ProtectedVm as VmConfig
from hastack.config.models import duration_ms
from hastack.layout import drbd_device, lv_name, vm_drbd_hosts, vm_drbd_ports, vm_objects
from hastack.render.libvirt import render_domain_xml
from hastack.render.nocloud import vm_meta_data, vm_network_config, vm_user_data
from hastack.resources import vm_first_boot
from providers.drbd_resource import DrbdResource
from providers.libvirt_domain import LibvirtDomain
from providers.logical_volume import LogicalVolume
from providers.pcs_constraint import PcsConstraint
from providers.pcs_resource import PcsResource
from providers.pcs_resource_enable import PcsResourceEnable
from providers.vm_first_boot import VmFirstBoot
from providers.vm_host_key import VmHostKey

LAYER = "hypervisor"


@dataclass(frozen=True)
class ProtectedVMArgs:
    vm: VmConfig
    cluster: HypervisorConfig
    domain_type: str = "kvm"
    prerequisites: tuple = ()
    firewalls: tuple = ()  # the hypervisors' Firewalls, which open this VM's DRBD ports


class ProtectedVM(pulumi.ComponentResource):
    def __init__(self, name: str, args: ProtectedVMArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hastack:index:ProtectedVM", name, None, opts)
        vm, hv = args.vm, args.cluster
        base = {"layer": LAYER, "nodes": node_refs(hv.nodes)}
        objects = vm_objects(vm, hv)
        ports = vm_drbd_ports(vm, hv.drbd, len(hv.rings))

        lv = LogicalVolume(f"{name}-lv", {**base, "volume_group": hv.volume_group, "name": lv_name(vm.name),
                                          "size": vm.lv_size}, child(self, list(args.prerequisites)))
        drbd = DrbdResource(f"{name}-drbd", {
            **base, "name": vm.name, "minor": vm.drbd_minor, "disk": f"/dev/{hv.volume_group}/{lv_name(vm.name)}",
            "hosts": vm_drbd_hosts(hv), "ports": ports, "options": hv.drbd.model_dump(mode="json"),
            "preferred_node": vm.preferred_node, "size": vm.lv_size,  # grown after the LV: drbdadm resize
            "initial_fill": _initial_fill(vm),
        }, child(self, [lv, *args.firewalls]))
        domain = LibvirtDomain(f"{name}-domain", {**base, "name": vm.name,
                                                  "xml": render_domain_xml(vm, args.domain_type)}, child(self, [drbd]))
        ready = [drbd]
        if vm.cloud_init:
            key = VmHostKey(f"{name}-host-key", {"layer": LAYER, "vm": vm.name, "public_key": None, "private_key": None},
                            pulumi.ResourceOptions(parent=self, additional_secret_outputs=["private_key"]))
            ready.append(self._first_boot(name, args, base, key, [drbd, domain]))
        clone = PcsResource(f"{name}-drbd-clone", {**base, "spec": objects.drbd_clone.model_dump()}, child(self, ready))
        vm_resource = PcsResource(f"{name}-vm", {**base, "spec": objects.domain.model_dump()}, child(self, [clone, domain]))
        constraints = [
            PcsConstraint(f"{name}-{kind}", {**base, "spec": spec.model_dump()}, child(self, [vm_resource, clone]))
            for kind, spec in (("order", objects.order), ("colocation", objects.colocation), ("location", objects.location))
        ]
        self.enabled = PcsResourceEnable(f"{name}-enable", {**base, "resource_id": objects.domain.id,
                                                                 "start_wait_s": duration_ms(hv.start_wait) // 1000},
                                         child(self, constraints))
        self.outputs = {
            "preferred_node": vm.preferred_node,
            "drbd_device": drbd_device(vm.drbd_minor),
            "drbd_minor": vm.drbd_minor,
            "drbd_ports": list(ports),
            "pacemaker_resource": objects.domain.id,
            "address": str(vm.address.ip) if vm.address else None,
        }
        if vm.cloud_init:
            self.outputs["host_key"] = key.public_key  # the pinned key, for the guest layer and other projects
        self.register_outputs(self.outputs)

    def _first_boot(self, name: str, args: ProtectedVMArgs, base: dict, key, depends_on: list) -> VmFirstBoot:
        vm, hv, ci = args.vm, args.cluster, args.vm.cloud_init
        user_data = pulumi.Output.all(key.private_key, key.public_key).apply(
            lambda pair: vm_user_data(vm, hv, (pair[0], pair[1])))
        return VmFirstBoot(f"{name}-first-boot", {
            **base, "vm": vm.name, "preferred_node": vm.preferred_node, "drbd_resource": vm.name,
            "drbd_device": drbd_device(vm.drbd_minor), "image": vm.image, "address": str(vm.address.ip),
            "meta_data": vm_meta_data(vm), "network_config": vm_network_config(vm, hv),
            "user_data": pulumi.Output.secret(user_data), "host_public_key": key.public_key,
            "boot_xml": render_domain_xml(vm, args.domain_type, vm_first_boot.seed_iso_path(vm.name)),
            "ssh_wait_s": duration_ms(ci.ssh_wait) // 1000, "shutdown_wait_s": duration_ms(ci.shutdown_wait) // 1000,
        }, child(self, depends_on))


def _initial_fill(vm: VmConfig) -> list:
    """What a brand-new DRBD disk gets during its very first primary: the image as it is, or, for a
    VM with cloud_init, the stage `new` that lets its first boot write the image (and resume)."""
    if vm.cloud_init:
        return [list(vm_first_boot.mark_new_argv(vm.name))]
    if vm.image:
        return [["qemu-img", "convert", "-f", "qcow2", "-O", "raw", vm.image, drbd_device(vm.drbd_minor)]]
    return []
