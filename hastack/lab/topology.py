"""The lab's fixed shape: four hosts, three lab networks, two BMCs (imitating the seed).

Everything here is data; the addresses are the lab's own (10.77.0.0/16), not lab5's.
Ports are fixed so that Pulumi.lab.yaml can name them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

NETWORKS = {  # lab network -> (bridge in the lab namespace, /24 prefix)
    "mgmt": ("br-mgmt", "10.77.0"),
    "stor1": ("br-stor1", "10.77.1"),
    "stor2": ("br-stor2", "10.77.2"),
}
# Guest NIC name inside every host (fixed by PCI slot with .link files in the image).
NIC_SLOTS = {"fwd": ("fwd0", 3), "mgmt": ("mgmt0", 4), "stor1": ("stor1", 5), "stor2": ("stor2", 6)}
PREFIX_LEN = 24
# Addresses 10.77.0.60-69 are kept for the tiny protected VMs of the lab stack.
TINY_VM_ADDRESSES = {"gw1": "10.77.0.61", "mgmt": "10.77.0.62", "nagios": "10.77.0.63"}
LAB_DOMAIN = "hastack-lab.internal"  # hosts' uname -n is NAME.LAB_DOMAIN, as the seed's are FQDNs
POWER_PORT_NAME = "org.hastack.lab.power"  # virtio-serial port for the guest power relay

# The lab's Nagios server (hastack/lab/nagios.py): on the management bridge inside the lab namespace,
# like the BMCs; its sshd reached through this loopback forward, next to the hosts' 22201-22204.
NAGIOS_ADDRESS = "10.77.0.5"
NAGIOS_SSH_PORT = 22205

BMC_USER = "admin"
# Throwaway lab credential; the lab stack holds it as a Pulumi secret (passphrase hastack-lab).
BMC_PASSWORD = os.environ.get("HASTACK_LAB_BMC_PASSWORD", "hastack-lab-bmc")
# Lab-only model of a server's firmware self-test: a BMC power-on reports the chassis on at
# once and boots the machine this much later.  With the lab's ~60 s boot a fenced node stays
# away ~240 s, as the seed's did (233-249 s); without it, it rejoined before the survivor had
# taken over its VMs.
POST_SECONDS = float(os.environ.get("HASTACK_LAB_POST_SECONDS", "180"))
BMC_CIPHER = 3  # ipmitool 1.8.19 wastes ~10 s probing cipher suites against ipmi_sim otherwise


@dataclass(frozen=True)
class Host:
    name: str
    role: str  # hypervisor | guest
    index: int  # 1..4, used for MACs
    host_octet: int  # last octet on every lab network
    ssh_port: int
    memory_mib: int
    data_disk_gib: int
    bmc_address: str | None = None
    preferred_hypervisor: str | None = None  # guests: where their domain runs at lab up

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{LAB_DOMAIN}"

    def address(self, net: str) -> str:
        return f"{NETWORKS[net][1]}.{self.host_octet}"

    def mac(self, nic: str) -> str:
        return f"52:54:00:77:{self.index:02x}:{NIC_SLOTS[nic][1]:02x}"

    @property
    def is_hypervisor(self) -> bool:
        return self.role == "hypervisor"


HOSTS: tuple[Host, ...] = (
    Host("node1", "hypervisor", 1, 21, 22201, 2560, 6, bmc_address="10.77.0.11"),
    Host("node2", "hypervisor", 2, 22, 22202, 2560, 6, bmc_address="10.77.0.12"),
    Host("pg1", "guest", 3, 53, 22203, 1536, 1, preferred_hypervisor="node1"),
    Host("pg2", "guest", 4, 54, 22204, 1536, 1, preferred_hypervisor="node2"),
)
GUEST_DRBD_DISK = "/dev/vdb"  # guests' spare disk for the guest-layer DRBD (whole disk)
HYPERVISOR_VG = "vg-data"  # on /dev/vdb of each hypervisor


def host(name: str) -> Host:
    for h in HOSTS:
        if h.name == name:
            return h
    raise KeyError(f"no lab host {name!r} (hosts: {', '.join(h.name for h in HOSTS)})")


def hypervisors() -> list[Host]:
    return [h for h in HOSTS if h.is_hypervisor]


def guests() -> list[Host]:
    return [h for h in HOSTS if not h.is_hypervisor]


def tap_name(h: Host, net: str) -> str:
    return f"{h.name}-{net}"[:15]
