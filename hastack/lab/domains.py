"""libvirt domain XML for the lab's tiny nested VMs (pure builders, used by tests and docs).

The tiny VM boots the cloud kernel with the lab's busybox initramfs
(/var/lib/hastack-lab/tiny/ in every hypervisor image): it takes hastack.ip=ADDR/LEN on eth0,
answers ping and HTTP on port 80 with "hastack-tiny NAME", prints "hastack-tiny NAME up ADDR"
on its serial console, and powers off on the ACPI power button.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

TINY_KERNEL = "/var/lib/hastack-lab/tiny/vmlinuz"
TINY_INITRD = "/var/lib/hastack-lab/tiny/initrd.img"


def tiny_domain_xml(name: str, address: str | None = None, bridge: str = "br-mgmt",
                    memory_mib: int = 128, mac: str | None = None) -> str:
    """A tiny protected VM. Without an address it has no NIC and boots nothing at all
    (SeaBIOS idles): the cheapest stand-in for a guest whose real VM runs at the top level."""
    n = escape(name)
    if address is None:
        os_xml = "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>"
        devices = ""
    else:
        cmdline = f"console=ttyS0 quiet hastack.ip={address} hastack.name={name}"
        os_xml = (f"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{TINY_KERNEL}</kernel>"
                  f"<initrd>{TINY_INITRD}</initrd><cmdline>{escape(cmdline)}</cmdline></os>")
        mac_xml = f"<mac address='{escape(mac)}'/>" if mac else ""
        devices = (f"<interface type='bridge'>{mac_xml}<source bridge='{escape(bridge)}'/>"
                   "<model type='virtio'/></interface>"
                   f"<serial type='pty'><log file='/var/log/libvirt/qemu/{n}-serial.log' append='off'/></serial>")
    # <acpi/>: without it a shutdown request halts the domain instead of powering it off.
    return (f"<domain type='qemu'><name>{n}</name><memory unit='MiB'>{memory_mib}</memory><vcpu>1</vcpu>"
            f"{os_xml}<features><acpi/></features><on_poweroff>destroy</on_poweroff>"
            f"<devices>{devices}</devices></domain>")
