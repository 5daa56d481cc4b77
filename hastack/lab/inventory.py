"""The running lab's description for the rest of hastack: .lab/inventory.json and known_hosts."""
from __future__ import annotations

import json
from pathlib import Path

from hastack.lab.topology import (
    BMC_USER, GUEST_DRBD_DISK, HOSTS, HYPERVISOR_VG, NAGIOS_ADDRESS, NAGIOS_SSH_PORT, NETWORKS, NIC_SLOTS, PREFIX_LEN,
)

NAGIOS = "nagios"  # the lab's Nagios server's name in host_pubkeys (hastack/lab/nagios.py)


def known_hosts_lines(host_pubkeys: dict[str, str]) -> list[str]:
    """OpenSSH known_hosts, keyed by the loopback forward ([127.0.0.1]:PORT)."""
    ports = {h.name: h.ssh_port for h in HOSTS} | {NAGIOS: NAGIOS_SSH_PORT}
    lines = []
    for name, pub in host_pubkeys.items():
        keytype, blob = pub.split()[:2]
        lines.append(f"[127.0.0.1]:{ports[name]} {keytype} {blob}")
    return lines


def inventory(lab: Path) -> dict:
    hosts = []
    for h in HOSTS:
        entry = {
            "name": h.name,
            "fqdn": h.fqdn,
            "role": h.role,
            "ssh": {"host": "127.0.0.1", "port": h.ssh_port, "user": "root",
                    "private_key": str(lab / "id_ed25519"), "known_hosts": str(lab / "known_hosts")},
            "addresses": {net: f"{h.address(net)}/{PREFIX_LEN}" for net in NETWORKS},
            "interfaces": ({net: f"br-{net}" for net in NETWORKS} if h.is_hypervisor
                           else {net: NIC_SLOTS[net][0] for net in NETWORKS}),
        }
        if h.is_hypervisor:
            entry["bmc"] = {"address": h.bmc_address, "user": BMC_USER, "port": 623, "lanplus": True,
                            "cipher": 3, "password": "secret of the lab stack (Pulumi.lab.yaml)"}
            entry["volume_group"] = HYPERVISOR_VG
            entry["tiny_vm"] = {"kernel": "/var/lib/hastack-lab/tiny/vmlinuz",
                                "initrd": "/var/lib/hastack-lab/tiny/initrd.img"}
        else:
            entry["drbd_disk"] = GUEST_DRBD_DISK
            entry["preferred_hypervisor"] = h.preferred_hypervisor
        hosts.append(entry)
    return {"networks": {net: f"{prefix}.0/{PREFIX_LEN}" for net, (_br, prefix) in NETWORKS.items()},
            "hosts": hosts,
            "nagios": {"address": NAGIOS_ADDRESS, "ssh": {"host": "127.0.0.1", "port": NAGIOS_SSH_PORT, "user": "root"}}}


def write(lab: Path, host_pubkeys: dict[str, str]) -> None:
    (lab / "known_hosts").write_text("\n".join(known_hosts_lines(host_pubkeys)) + "\n")
    (lab / "inventory.json").write_text(json.dumps(inventory(lab), indent=2) + "\n")
