"""A VM's NoCloud seed (cloud-init): meta-data, network-config (v2) and user-data, as the seed's
provision-vm.yml writes them, with what it did by hand or with nmcli made declarative: every NIC's
static address matched by the MAC hastack gives it (render/libvirt.vm_mac), the guest's data
partition, and an SSH host key made by the stack (resources/vm_host_key.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from hastack.config.models import CloudInit, DataPartition, HypervisorCluster, ProtectedVm, ring_network
from hastack.render.libvirt import vm_mac

# cloud-init off for good after the first boot, as the seed does it (its last two runcmd lines).
DISABLE_CLOUD_INIT = (
    ("touch", "/etc/cloud/cloud-init.disabled"),
    ("systemctl", "mask", "cloud-init-local.service", "cloud-init.service", "cloud-config.service",
     "cloud-final.service"),
)

# Appends the data partition in the space the image leaves at the end of the disk, once: a disk that
# already has a partition of that name is left alone.  The image's backup GPT sits at the image's
# end, not the disk's, so it is moved first.  The kernel is told of the one new partition (the disk
# is in use: a full re-read is refused).  $1 disk, $2 GPT partition name, $3 size ("" = the rest).
DATA_PARTITION = r'''set -eu
disk=$1 label=$2 size=${3:-+}
table=$(sfdisk --dump "$disk")
case $table in *"label: gpt"*) ;; *) echo "$disk has no GPT partition table: the data partition is made on GPT images only" >&2; exit 3;; esac
if printf '%s\n' "$table" | grep -q "name=\"$label\""; then exit 0; fi
sfdisk --quiet --relocate gpt-bak-std "$disk"
printf 'size=%s, name="%s"\n' "$size" "$label" | sfdisk --quiet --append --no-reread --no-tell-kernel "$disk"
part=$(sfdisk --dump "$disk" | grep "name=\"$label\"" | cut -d' ' -f1)
nr=$(printf '%s' "$part" | sed 's/.*[^0-9]//')
[ ! -b "$disk" ] || partx --add --nr "$nr" "$disk" 2>/dev/null || partx --update --nr "$nr" "$disk"
echo "made $part"
'''


@dataclass(frozen=True)
class Nic:
    name: str  # the name it is given in the guest (set-name), as the seed's eth0..eth2
    mac: str
    address: str  # address/prefix
    gateway: str | None = None
    nameservers: tuple[str, ...] = ()


def vm_nics(vm: ProtectedVm, hv: HypervisorCluster) -> tuple[Nic, ...]:
    """Every NIC of VM in domain order: the first holds `address` (with the gateway and DNS), each
    further one the next storage address, with the prefix of the ring it lies in."""
    ci = vm.cloud_init
    first = Nic("eth0", vm_mac(vm.name, 0), str(vm.address), str(ci.gateway) if ci.gateway else None,
                tuple(str(a) for a in ci.nameservers))
    storage = tuple(Nic(f"eth{j}", vm_mac(vm.name, j), f"{a}/{ring_network(hv.rings, a).prefixlen}")
                    for j, a in enumerate(vm.storage_addresses, start=1))
    return (first, *storage)


def guest_hostname(vm: ProtectedVm) -> str:
    return vm.cloud_init.hostname or vm.name


def guest_fqdn(vm: ProtectedVm, hv: HypervisorCluster) -> str:
    return vm.cloud_init.fqdn or f"{guest_hostname(vm)}.{hv.domain}"


def render_meta_data(instance_id: str, hostname: str) -> str:
    """NoCloud meta-data; the instance id is the VM's name, as in the seed."""
    return _yaml({"instance-id": instance_id, "local-hostname": hostname})


def render_network_config(nics: tuple[Nic, ...]) -> str:
    """network-config version 2: each NIC matched by its MAC, named, with its static address."""
    ethernets = {}
    for nic in nics:
        entry = {"match": {"macaddress": nic.mac}, "set-name": nic.name, "dhcp4": False, "addresses": [nic.address]}
        if nic.gateway:
            entry["routes"] = [{"to": "0.0.0.0/0", "via": nic.gateway}]
        if nic.nameservers:
            entry["nameservers"] = {"addresses": list(nic.nameservers)}
        ethernets[nic.name] = entry
    return _yaml({"version": 2, "ethernets": ethernets})


def data_partition_command(partition: DataPartition) -> list[str]:
    """The runcmd entry (an argv, run without a shell of cloud-init's) that makes the data partition."""
    return ["sh", "-c", DATA_PARTITION, "sh", partition.disk, partition.label, partition.size or ""]


def render_user_data(ci: CloudInit, hostname: str, fqdn: str, host_key: tuple[str, str],
                     password_hashes: dict[str, str]) -> str:
    """#cloud-config: the seed's users and settings, the stack's SSH host key (HOST_KEY: private
    OpenSSH text, public line) as the only one the guest keeps, the data partition, packages and
    services where the config asks for them, cloud-init disabled, and a power-off at the end.  PASSWORD_HASHES:
    user -> crypt hash (secret).  The text holds secrets: it is only ever written as one."""
    users = []
    for user in ci.users:
        entry: dict = {"name": user.name, "lock_passwd": user.lock_passwd}
        if user.groups:
            entry["groups"] = ", ".join(user.groups)
        for field in ("sudo", "shell"):
            if getattr(user, field):
                entry[field] = getattr(user, field)
        if user.name in password_hashes:
            entry["hashed_passwd"] = password_hashes[user.name]
        if user.ssh_authorized_keys:
            entry["ssh_authorized_keys"] = list(user.ssh_authorized_keys)
        users.append(entry)
    private, public = host_key
    doc: dict = {
        "hostname": hostname,
        "fqdn": fqdn,
        "users": users,
        "ssh_pwauth": False,
        # The seed keeps the image's partitions as they are: the free space is the data partition's.
        "growpart": {"mode": "off"},
        "resize_rootfs": False,
        # Only the stack's key: what the first connection checks (keys the image came with go;
        # given ssh_keys, cloud-init generates none).
        "ssh_deletekeys": True,
        "ssh_keys": {"ed25519_private": private, "ed25519_public": public},
    }
    if any(u.name == "root" and u.ssh_authorized_keys for u in ci.users):
        doc["disable_root"] = False  # else cloud-init replaces root's keys with a "log in as ..." message
    if ci.packages:
        doc["packages"] = list(ci.packages)
    runcmd = [data_partition_command(ci.data_partition)] if ci.data_partition else []
    runcmd += [["systemctl", "enable", "--now", unit] for unit in ci.services]
    doc["runcmd"] = runcmd + [list(argv) for argv in DISABLE_CLOUD_INIT]
    # The first boot ends with cloud-init's own power-off once all of the above ran: VmFirstBoot
    # waits for it (the seed's `virsh shutdown` right after SSH answered could cut it short).
    doc["power_state"] = {"mode": "poweroff", "message": "first boot done: handing over to Pacemaker",
                          "timeout": 600, "condition": True}
    return "#cloud-config\n" + _yaml(doc)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (a script, a key) as literal blocks, as one would write them by hand."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _yaml(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 16)


def vm_meta_data(vm: ProtectedVm) -> str:
    return render_meta_data(vm.name, guest_hostname(vm))


def vm_network_config(vm: ProtectedVm, hv: HypervisorCluster) -> str:
    return render_network_config(vm_nics(vm, hv))


def vm_user_data(vm: ProtectedVm, hv: HypervisorCluster, host_key: tuple[str, str]) -> str:
    """VM's user-data with its host key (private, public): a secret text."""
    hashes = {u.name: u.hashed_passwd.get_secret_value() for u in vm.cloud_init.users if u.hashed_passwd}
    return render_user_data(vm.cloud_init, guest_hostname(vm), guest_fqdn(vm, hv), host_key, hashes)
