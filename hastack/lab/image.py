"""The lab host image: a debootstrap Debian 12 built from lab/image/, cached by recipe hash.

The image is an ext4 filesystem without a partition table (qcow2), booted with qemu's
direct kernel boot; the kernel and initrd built with it sit beside it in the cache.
A fresh clone (CI) reuses the cache as long as the recipe files are unchanged.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hastack.lab.paths import RECIPE_DIR, cache_dir

SOURCES_FILES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
NFTABLES_CONF = RECIPE_DIR / "files" / "etc" / "nftables.conf"  # render_nftables_conf(), loaded at boot


def render_nftables_conf() -> str:
    """The lab hosts' /etc/nftables.conf (nftables.service loads it at boot; the image's recipe
    holds it as NFTABLES_CONF): a default-deny input in the shape of RHEL's firewalld public zone,
    so that a cluster forms only through what hastack's Firewall opens.  Accepted: replies
    (established, related), loopback, ICMP and ICMPv6, SSH; all else is dropped.  Debian's own
    layout (table inet filter, chain input: the Firewall's default base chain), forward and output
    as Debian ships them.  What the lab needs beyond that and does not get here, on purpose:
    - the guest power relay: virtio-serial between a hypervisor and the lab, no network;
    - the BMCs: in the lab's namespace, outside the hosts; a hypervisor only sends to them
      (fence_ipmilan), their answers are replies;
    - nested domains on the hypervisors' bridges: bridged frames pass no inet hook unless
      br_netfilter is loaded, and nothing in the image loads it (the cloud kernel has it as a
      module, CONFIG_BRIDGE_NETFILTER=m; no modules-load.d, sysctl.d or libvirt names it); with
      it, they would pass forward, which accepts;
    - the drill: its client on a hypervisor writes to the VIP's 5432, which the guests' Firewall
      opens to their management network (guest.firewall.database_clients' default), and pings
      every host (ICMP, accepted);
    - bare-lab tests that replicate DRBD with no stack (tests/lab): each opens its own port for
      its own time (labhelpers.opened).
    Regenerate the recipe's copy with `python -c 'from hastack.lab import image;
    image.NFTABLES_CONF.write_text(image.render_nftables_conf())'`."""
    return """#!/usr/sbin/nft -f
# hastack lab only: rendered by hastack.lab.image.render_nftables_conf (edit that, then
# regenerate this file; a test compares them).  Default-deny input, as RHEL's firewalld public
# zone: replies, loopback, ICMP/ICMPv6 and SSH; every cluster port stays closed until
# hastack's Firewall opens it (its include line, once `up` adds it, ends this file).

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif "lo" accept
		meta l4proto { icmp, ipv6-icmp } accept
		tcp dport 22 accept comment "ssh"
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
"""


@dataclass(frozen=True)
class Image:
    disk: Path
    kernel: Path
    initrd: Path

    def exists(self) -> bool:
        return self.disk.is_file() and self.kernel.is_file() and self.initrd.is_file()


def recipe_files(recipe_dir: Path = RECIPE_DIR) -> list[Path]:
    return sorted(p for p in recipe_dir.rglob("*") if p.is_file())


def recipe_hash(recipe_dir: Path = RECIPE_DIR) -> str:
    h = hashlib.sha256()
    for p in recipe_files(recipe_dir):
        h.update(str(p.relative_to(recipe_dir)).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cached_image(recipe_dir: Path = RECIPE_DIR) -> Image:
    stem = cache_dir() / f"lab-image-{recipe_hash(recipe_dir)}"
    return Image(Path(f"{stem}.qcow2"), Path(f"{stem}.vmlinuz"), Path(f"{stem}.initrd"))


def debian_mirror(sources: tuple[Path, ...] = SOURCES_FILES) -> str:
    """The Debian mirror this machine's apt already uses (never a name written in the repo)."""
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".sources":  # deb822 stanzas
            for stanza in text.split("\n\n"):
                fields = dict(
                    line.split(":", 1) for line in stanza.splitlines()
                    if ":" in line and not line.startswith("#") and not line.startswith(" ")
                )
                suites = fields.get("Suites", "").split()
                if "bookworm" in suites and fields.get("URIs"):
                    return fields["URIs"].split()[0].strip()
        else:
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "deb" and parts[2] == "bookworm":
                    return parts[1] if not parts[1].startswith("[") else parts[2]
    raise RuntimeError("no Debian bookworm source found in this machine's apt configuration")


def build_argv(recipe_dir: Path, root: Path, mirror: str, raw: Path, kernel: Path, initrd: Path) -> list[str]:
    # A private mount namespace: the chroot's proc/sys/dev mounts cannot outlive the build.
    return ["unshare", "--mount", "--propagation", "private", "bash", str(recipe_dir / "build.sh"),
            str(root), mirror, str(raw), str(kernel), str(initrd)]


def convert_argv(raw: Path, qcow2: Path) -> list[str]:
    return ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)]


def ensure_image(log=print, recipe_dir: Path = RECIPE_DIR) -> Image:
    """Return the cached image, building it first if the recipe changed."""
    image = cached_image(recipe_dir)
    if image.exists():
        log(f"image: cached {image.disk.name}")
        return image
    image.disk.parent.mkdir(parents=True, exist_ok=True)
    work = image.disk.parent / (image.disk.stem + ".build")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    t0 = time.monotonic()
    log(f"image: building {image.disk.name} (several minutes; log {work / 'build.log'})")
    raw = work / "root.img"
    kernel, initrd = work / "vmlinuz", work / "initrd"
    with open(work / "build.log", "w") as out:
        proc = subprocess.Popen(build_argv(recipe_dir, work / "root", debian_mirror(), raw, kernel, initrd),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last = time.monotonic()
        for line in proc.stdout:  # the recipe's step lines, and a sample line every 20 s, as progress
            out.write(line)
            if line.startswith("[image") or time.monotonic() - last > 20:
                last = time.monotonic()
                log(line.rstrip() if line.startswith("[image") else f"image: ... {line.strip()[:100]}")
        if proc.wait() != 0:
            raise RuntimeError(f"image build failed, see {work / 'build.log'}")
    subprocess.run(convert_argv(raw, work / "disk.qcow2"), check=True)
    # Publish atomically-ish: kernel and initrd first, the disk (the "exists" marker) last.
    os.replace(kernel, image.kernel)
    os.replace(initrd, image.initrd)
    os.replace(work / "disk.qcow2", image.disk)
    shutil.rmtree(work, ignore_errors=True)
    for old in image.disk.parent.glob("lab-image-*"):  # images of older recipes
        if old.is_file() and old.stem != image.disk.stem:
            old.unlink()
    log(f"image: built in {time.monotonic() - t0:.0f} s")
    return image


if __name__ == "__main__":
    ensure_image()
    sys.exit(0)
