"""Per-host identity: SSH keys made by the lab, and the seed disk each host applies at boot.

The seed disk is a small ext4 image built from a directory with mkfs.ext4 -d (no mount on the
host). Inside the VM, hastack-lab-seed.service copies hostname, hosts, host keys, the
operator's authorized key and systemd-networkd files from it.
"""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from hastack.lab.topology import NETWORKS, NIC_SLOTS, PREFIX_LEN, Host


def keygen_argv(path: Path, comment: str) -> list[str]:
    return ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]


def mkfs_argv(src: Path, image: Path) -> list[str]:
    return ["mkfs.ext4", "-q", "-F", "-L", "hastack-seed", "-d", str(src), str(image), "16M"]


def ensure_key(path: Path, comment: str) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(keygen_argv(path, comment), check=True)
    return Path(f"{path}.pub").read_text().strip()


def lab_links(h: Host) -> list[str]:
    """The links network_files configures (not libvirt's vnet taps, which networkd leaves alone)."""
    links = [NIC_SLOTS["fwd"][0]] + [NIC_SLOTS[net][0] for net in NETWORKS]
    return links + ([f"br-{net}" for net in NETWORKS] if h.is_hypervisor else [])


def network_files(h: Host) -> dict[str, str]:
    """systemd-networkd files. Hypervisors put each lab NIC in a bridge (br-mgmt, br-stor1,
    br-stor2) carrying the address, as the seed's hosts do, so nested domains can join them."""
    quiet = "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    files = {
        # The forward NIC: slirp's fixed guest address, no gateway (restrict=on: no way out).
        "10-fwd0.network": f"[Match]\nName={NIC_SLOTS['fwd'][0]}\n\n[Network]\nAddress=10.0.2.15/24\n{quiet}",
    }
    for net in NETWORKS:
        nic = NIC_SLOTS[net][0]
        addr = f"{h.address(net)}/{PREFIX_LEN}"
        if h.is_hypervisor:
            br = f"br-{net}"
            files[f"20-{br}.netdev"] = f"[NetDev]\nName={br}\nKind=bridge\n\n[Bridge]\nSTP=no\nForwardDelaySec=0\n"
            files[f"21-{nic}.network"] = f"[Match]\nName={nic}\n\n[Network]\nBridge={br}\n{quiet}"
            files[f"22-{br}.network"] = (f"[Match]\nName={br}\n\n[Network]\nAddress={addr}\n{quiet}"
                                         "ConfigureWithoutCarrier=yes\n")
        else:
            files[f"21-{nic}.network"] = f"[Match]\nName={nic}\n\n[Network]\nAddress={addr}\n{quiet}"
    return files


def hosts_file(h: Host) -> str:
    """As an installer with a static address leaves it: localhost and the host's own name only.
    The peers' names are the stack's to add (hastack/resources/hosts_entries.py)."""
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback", f"{h.address('mgmt')} {h.fqdn} {h.name}"]
    return "\n".join(lines) + "\n"


def machine_id(path: Path) -> str:
    if not path.exists():
        path.write_text(uuid.uuid4().hex + "\n")
    return path.read_text().strip()


def write_seed(h: Host, seed_dir: Path, host_key: Path, operator_pub: str) -> None:
    (seed_dir / "ssh").mkdir(parents=True, exist_ok=True)
    (seed_dir / "network").mkdir(exist_ok=True)
    (seed_dir / "role").write_text(h.role + "\n")
    (seed_dir / "hostname").write_text(h.fqdn + "\n")
    (seed_dir / "hosts").write_text(hosts_file(h))
    (seed_dir / "authorized_keys").write_text(operator_pub + "\n")
    for suffix in ("", ".pub"):
        dst = seed_dir / "ssh" / f"ssh_host_ed25519_key{suffix}"
        dst.write_bytes(Path(f"{host_key}{suffix}").read_bytes())
        dst.chmod(0o600 if not suffix else 0o644)
    for name, text in network_files(h).items():
        (seed_dir / "network" / name).write_text(text)


def build_seed_image(seed_dir: Path, image: Path) -> None:
    subprocess.run(mkfs_argv(seed_dir, image), check=True, capture_output=True)
