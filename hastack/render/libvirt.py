"""libvirt domain XML for a protected VM: its disk is the DRBD device, identical on both nodes."""
from __future__ import annotations

import hashlib
import uuid
from xml.sax.saxutils import escape, quoteattr

from hastack.config.models import ProtectedVm


def vm_mac(vm_name: str, nic_index: int) -> str:
    """A stable MAC per VM and NIC, so the VM keeps its addresses whichever node runs it."""
    digest = hashlib.sha256(f"{vm_name}/{nic_index}".encode()).digest()
    return "52:54:00:%02x:%02x:%02x" % (digest[0], digest[1], digest[2])


def vm_uuid(vm_name: str) -> str:
    """A stable UUID per VM, the same on both nodes: libvirt refuses to redefine a domain under a
    new UUID, so a definition without one could be created once but never updated."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hastack:vm/{vm_name}"))


def domain_xml_path(vm_name: str) -> str:
    return f"/etc/libvirt/qemu/{vm_name}.xml"


def render_domain_xml(vm: ProtectedVm, domain_type: str = "kvm", seed_iso: str | None = None) -> str:
    """The VM's definition; with SEED_ISO, plus that NoCloud seed as a read-only cdrom (sda, as the
    seed's virt-install made it): the first boot's transient definition (VmFirstBoot)."""
    os_lines = ['    <type arch="x86_64">hvm</type>']
    if vm.boot.kernel:
        os_lines += [
            f"    <kernel>{escape(vm.boot.kernel)}</kernel>",
            f"    <initrd>{escape(vm.boot.initrd or '')}</initrd>",
            f"    <cmdline>{escape(vm.boot.cmdline)}</cmdline>",
        ]
    else:
        os_lines.append('    <boot dev="hd"/>')
    nics = "".join(
        f"""
    <interface type="bridge">
      <source bridge={quoteattr(bridge)}/>
      <mac address="{vm_mac(vm.name, i)}"/>
      <model type="virtio"/>
    </interface>"""
        for i, bridge in enumerate(vm.networks)
    )
    cpu = '\n  <cpu mode="host-passthrough"/>' if domain_type == "kvm" else ""
    # ACPI lets `virsh shutdown` (a node standby) power the guest off cleanly instead of halting.
    return f"""<domain type="{domain_type}">
  <name>{vm.name}</name>
  <uuid>{vm_uuid(vm.name)}</uuid>
  <memory unit="MiB">{vm.memory_mib}</memory>
  <vcpu>{vm.vcpus}</vcpu>
  <os>
{chr(10).join(os_lines)}
  </os>
  <features>
    <acpi/>
  </features>{cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type="block" device="disk">
      <driver name="qemu" type="raw" cache="none" io="native"/>
      <source dev="/dev/drbd{vm.drbd_minor}"/>
      <target dev="vda" bus="virtio"/>
    </disk>{_seed_cdrom(seed_iso) if seed_iso else ""}{nics}
    <serial type="pty">
      <target port="0"/>
    </serial>
    <console type="pty">
      <target type="serial" port="0"/>
    </console>
  </devices>
</domain>
"""


def _seed_cdrom(iso: str) -> str:
    return f"""
    <disk type="file" device="cdrom">
      <driver name="qemu" type="raw"/>
      <source file={quoteattr(iso)}/>
      <target dev="sda" bus="sata"/>
      <readonly/>
    </disk>"""
