"""A VM's NoCloud seed against the real tools: cloud-init's own schema check and network renderer,
the ISO built by the first boot's own step and read back with isoinfo, the stack's host key read
by ssh-keygen, the data partition made by its script with sfdisk on a disk image (a loop device),
and the first boot's SSH probe against a real sshd holding (or not) the pinned key."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from hastack.render.nocloud import DATA_PARTITION, vm_meta_data, vm_network_config, vm_user_data
from hastack.resources import vm_first_boot, vm_host_key
from tests.tools.unpacked import unpacked, unpacked_root


def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.skip(f"{tool} not installed: bin/setup installs setup/apt-packages.txt")
    return path


def cloud_init(*args) -> subprocess.CompletedProcess:
    """The unpacked cloud-init, run by Debian's python3 (whose libraries setup installs)."""
    unpacked("usr/lib/python3/dist-packages/cloudinit/cmd/main.py")
    env = dict(os.environ, PYTHONPATH=str(unpacked_root() / "usr/lib/python3/dist-packages"))
    return subprocess.run(["/usr/bin/python3", "-m", "cloudinit.cmd.main", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def seed(lab5_config, tmp_path_factory):
    vm, hv = lab5_config.vm("pg1"), lab5_config.hypervisor
    key = vm_host_key.made(vm_host_key.PROPS(layer="hypervisor", vm="pg1"))
    d = tmp_path_factory.mktemp("seed")
    (d / "meta-data").write_text(vm_meta_data(vm))
    (d / "network-config").write_text(vm_network_config(vm, hv))
    (d / "user-data").write_text(vm_user_data(vm, hv, (key["private_key"], key["public_key"])))
    return d, vm, key


def test_cloud_init_accepts_the_user_data(seed):
    d, _, _ = seed
    result = cloud_init("schema", "--config-file", str(d / "user-data"))
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr


def test_cloud_init_renders_the_network_config_into_the_configured_addresses_by_mac(seed, tmp_path):
    d, vm, _ = seed
    result = cloud_init("devel", "net-convert", "-p", str(d / "network-config"), "-k", "yaml", "-d", str(tmp_path),
                        "-D", "rhel", "-O", "sysconfig")
    assert result.returncode == 0, result.stderr
    from hastack.render.libvirt import vm_mac

    wanted = [(str(vm.address.ip), "255.255.255.0")] + [(str(a), "255.255.255.0") for a in vm.storage_addresses]
    for i, (address, netmask) in enumerate(wanted):
        lines = (tmp_path / f"etc/sysconfig/network-scripts/ifcfg-eth{i}").read_text().splitlines()
        assert f"HWADDR={vm_mac('pg1', i)}" in lines and f"IPADDR={address}" in lines and f"NETMASK={netmask}" in lines
        assert ("GATEWAY=10.0.5.1" in lines) == (i == 0) and ("DNS1=192.168.4.1" in lines) == (i == 0)
        assert "BOOTPROTO=none" in lines  # static, never DHCP


def test_the_seed_iso_built_by_the_first_boot_step_holds_the_three_files(seed, tmp_path):
    need("genisoimage"), need("isoinfo")
    d, _, _ = seed
    iso = tmp_path / "seed.iso"
    subprocess.run(["sh", "-c", vm_first_boot.SEED, "sh", str(d), str(iso)], check=True, capture_output=True)
    assert oct(iso.stat().st_mode & 0o777) == "0o600"
    info = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True, text=True, check=True).stdout
    assert "Volume id: cidata" in info  # what NoCloud looks for
    listing = subprocess.run(["isoinfo", "-J", "-f", "-i", str(iso)], capture_output=True, text=True, check=True).stdout
    assert sorted(listing.split()) == ["/meta-data", "/network-config", "/user-data"]
    for name in vm_first_boot.SEED_FILES:
        back = subprocess.run(["isoinfo", "-J", "-x", f"/{name}", "-i", str(iso)], capture_output=True, check=True).stdout
        assert back == (d / name).read_bytes(), name


def test_ssh_keygen_reads_the_stack_key_back_to_its_public_half(seed, tmp_path):
    need("ssh-keygen")
    _, _, key = seed
    private = tmp_path / "key"
    private.write_text(yaml.safe_load((seed[0] / "user-data").read_text())["ssh_keys"]["ed25519_private"])
    private.chmod(0o600)
    public = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True).stdout
    assert public.split()[:2] == key["public_key"].split()[:2] and key["public_key"].endswith(" pg1")


# ---- the data partition ---------------------------------------------------------------------------
def image_like_rhel(path: Path) -> None:
    """A small GPT disk laid out as the seed's RHEL 9 image (bios_grub, ESP, /boot, /), written
    onto a larger device: its backup GPT sits mid-disk, the rest is free."""
    subprocess.run(["truncate", "-s", "40M", str(path)], check=True)
    table = ("label: gpt\n,1M,21686148-6449-6E6F-744E-656564454649\n,8M,U\n,8M,L\n,20M,L\n")
    subprocess.run(["sfdisk", "--quiet", str(path)], input=table, text=True, check=True)
    subprocess.run(["truncate", "-s", "100M", str(path)], check=True)


def dump(disk: str) -> str:
    return subprocess.run(["sfdisk", "--dump", disk], capture_output=True, text=True, check=True).stdout


def test_the_data_partition_fills_the_free_space_once_and_the_kernel_sees_it(tmp_path):
    need("sfdisk"), need("losetup"), need("partx")
    disk_file = tmp_path / "vda.img"
    image_like_rhel(disk_file)
    try:
        loop = subprocess.run(["losetup", "--find", "--show", str(disk_file)], capture_output=True, text=True,
                              check=True).stdout.strip()
    except subprocess.CalledProcessError as error:
        pytest.skip(f"no loop device here: {error.stderr}")
    try:
        made = subprocess.run(["sh", "-c", DATA_PARTITION, "sh", loop, "drbd-data", ""], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip() == f"made {loop}p5"
        table = dump(loop)
        line = next(x for x in table.splitlines() if 'name="drbd-data"' in x)
        start, size = (int(line.split(f"{k}=")[1].split(",")[0]) for k in ("start", "size"))
        last_lba = int(next(x for x in table.splitlines() if x.startswith("last-lba:")).split()[1])
        # all the rest of the disk, but what sfdisk's 1 MiB alignment leaves at its end
        assert line.startswith(f"{loop}p5 ") and 0 <= last_lba - (start + size - 1) < 2048
        assert Path(f"/sys/block/{Path(loop).name}/{Path(loop).name}p5").exists()  # told to the kernel
        again = subprocess.run(["sh", "-c", DATA_PARTITION, "sh", loop, "drbd-data", ""], capture_output=True, text=True)
        assert again.returncode == 0 and again.stdout == "" and dump(loop) == table  # once only
    finally:  # the kernel keeps a partition added to a loop device past its detach
        subprocess.run(["partx", "--delete", "--nr", "5", loop], check=False, capture_output=True)
        subprocess.run(["losetup", "-d", loop], check=False)


def test_a_sized_data_partition_and_a_disk_without_gpt(tmp_path):
    need("sfdisk")
    disk = tmp_path / "vda.img"
    image_like_rhel(disk)
    made = subprocess.run(["sh", "-c", DATA_PARTITION, "sh", str(disk), "pgdata", "16M"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    line = next(x for x in dump(str(disk)).splitlines() if 'name="pgdata"' in x)
    assert "size=       32768" in line or "size=32768" in line.replace(" ", "")
    mbr = tmp_path / "mbr.img"
    subprocess.run(["truncate", "-s", "10M", str(mbr)], check=True)
    subprocess.run(["sfdisk", "--quiet", str(mbr)], input="label: dos\n,4M,L\n", text=True, check=True)
    refused = subprocess.run(["sh", "-c", DATA_PARTITION, "sh", str(mbr), "pgdata", ""], capture_output=True, text=True)
    assert refused.returncode == 3 and "no GPT partition table" in refused.stderr


# ---- the SSH probe --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def sshd(tmp_path):
    """A real sshd on loopback holding a VmHostKey-made key; no login is possible."""
    binary = need("sshd") if shutil.which("sshd") else "/usr/sbin/sshd"
    if not Path(binary).exists():
        pytest.skip("sshd not installed")
    key = vm_host_key.made(vm_host_key.PROPS(layer="hypervisor", vm="pg1"))
    host_key = tmp_path / "host_key"
    host_key.write_text(key["private_key"])
    host_key.chmod(0o600)
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {tmp_path}/pid\n"
                      "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                      "AuthorizedKeysFile none\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    for _ in range(50):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield port, key["public_key"]
    process.terminate()
    process.wait(timeout=10)


def probe(port: int, known_hosts: Path) -> int:
    script = vm_first_boot.SSH_PROBE + 'probe "$1" "$2"'
    # the probe speaks to port 22; the test's sshd listens elsewhere: an ssh on PATH that adds -p
    env = dict(os.environ, PATH=f"{known_hosts.parent}:{os.environ['PATH']}")
    wrapper = known_hosts.parent / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -p {port} "$@"\n')
    wrapper.chmod(0o755)
    return subprocess.run(["sh", "-c", script, "sh", "127.0.0.1", str(known_hosts)], env=env, timeout=60).returncode


def test_the_probe_passes_only_a_host_that_proves_the_pinned_key(sshd, tmp_path):
    need("ssh")
    port, public = sshd
    pinned = tmp_path / "known_hosts"
    pinned.write_text(f"[127.0.0.1]:{port} {public}\n")
    assert probe(port, pinned) == 0
    other = vm_host_key.made(vm_host_key.PROPS(layer="hypervisor", vm="pg1"))["public_key"]
    pinned.write_text(f"[127.0.0.1]:{port} {other}\n")
    assert probe(port, pinned) == 2  # another key: refused before any login
    assert probe(free_port(), pinned) == 1  # nothing answers yet


@pytest.mark.parametrize("vm", ["pg1", "pg2"])
def test_the_first_boots_definition_is_the_vms_plus_its_seed_and_libvirt_accepts_it(lab5_render, vm):
    """What `virsh create` boots once: the defined domain (render's libvirt/<vm>.xml) with the seed ISO as a
    read-only cdrom, and nothing else different."""
    import xml.etree.ElementTree as ET

    need("virt-xml-validate")
    boot = lab5_render / f"hypervisor/files{vm_first_boot.seed_dir(vm)}/boot.xml"
    subprocess.run(["virt-xml-validate", str(boot), "domain"], check=True, capture_output=True)
    first, defined = ET.parse(boot).getroot(), ET.parse(lab5_render / f"hypervisor/libvirt/{vm}.xml").getroot()
    cdrom = first.find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").get("file") == vm_first_boot.seed_iso_path(vm) and cdrom.find("readonly") is not None
    first.find("devices").remove(cdrom)
    assert ET.tostring(first) == ET.tostring(defined)
