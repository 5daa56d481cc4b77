#!/bin/bash
# Builds the lab host image. Run by hastack.lab.image inside a private mount namespace
# (unshare -m), so every mount made here vanishes with this process even if it fails.
#   build.sh ROOTDIR MIRROR_URI OUT_RAW OUT_KERNEL OUT_INITRD
# The recipe is this file, packages.txt and files/: their hash names the cached image.
set -euo pipefail
root=$1 mirror=$2 out_raw=$3 out_kernel=$4 out_initrd=$5
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
mapfile -t pkgs < <(grep -v -e '^#' -e '^[[:space:]]*$' "$here/packages.txt")

step() { printf '[image %(%H:%M:%S)T] %s\n' -1 "$*"; }

mount --make-rprivate /
step "debootstrap $suite (minbase)"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror"

cat > "$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
SRC
# No service may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
# The cloud kernel's initrd must carry the virtio disk driver (field notes).
mkdir -p "$root/etc/initramfs-tools"
printf '%s\n' virtio_pci virtio_blk virtio_net virtio_console ext4 >> "$root/etc/initramfs-tools/modules"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" -o newinstance
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

step "apt-get install ${#pkgs[@]} packages"
in_root apt-get update -q
in_root apt-get install -y -q --no-install-recommends "${pkgs[@]}"
in_root apt-get clean

step "configure"
cp -a "$here/files/." "$root/"
chmod 755 "$root/usr/local/sbin/"* "$root/etc/libvirt/hooks/qemu"
# Per-host identity comes from the seed disk: no host keys, machine-id or cluster config here.
rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/corosync/corosync.conf" "$root/etc/corosync/authkey"
: > "$root/etc/machine-id"; rm -f "$root/var/lib/dbus/machine-id"
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"
echo 'root:*' | in_root chpasswd -e
# pcsd: hastack never talks to it (corosync, cibadmin and a local pcs -f); on one emulated vCPU
# its Python and Ruby daemons took minutes of boot and ~12% idle.  e2scrub_reap: 1.5-2 min of
# boot on a throw-away overlay.  Both measured with systemd-analyze blame on a lab host.
in_root systemctl disable corosync.service pacemaker.service postgresql.service \
    pcsd.service pcsd-ruby.service
# nftables: files/etc/nftables.conf (hastack.lab.image.render_nftables_conf), default-deny input from boot on.
in_root systemctl enable systemd-networkd.service hastack-lab-seed.service serial-getty@ttyS0.service nftables.service
in_root systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer
# root's systemd user manager lingers: started and stopped around each SSH login, it cost 13 s
# of emulated CPU every time (journal on a lab host, 2026-12-02).
mkdir -p "$root/var/lib/systemd/linger" && touch "$root/var/lib/systemd/linger/root"
rm -f "$root/usr/sbin/policy-rc.d"

step "tiny kernel and initramfs for nested protected VMs"
kver=$(ls "$root/lib/modules" | head -n1)
tiny=$root/var/lib/hastack-lab/tiny
mkdir -p "$tiny"
cp "$root/boot/vmlinuz-$kver" "$tiny/vmlinuz"
tmp=$(mktemp -d)
mkdir -p "$tmp"/{bin,proc,sys,dev,lib/modules,www}
cp "$root/bin/busybox" "$tmp/bin/busybox"
for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net evdev button; do
  f=$(find "$root/lib/modules/$kver" -name "$m.ko*" | head -n1)
  [ -n "$f" ] && cp "$f" "$tmp/lib/modules/"
done
cp "$here/tiny-init" "$tmp/init"; chmod 755 "$tmp/init"
(cd "$tmp" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -9) > "$tiny/initrd.img"
rm -rf "$tmp"

cp "$root/boot/vmlinuz-$kver" "$out_kernel"
cp "$root/boot/initrd.img-$kver" "$out_initrd"

umount "$root/dev/pts" "$root/dev" "$root/sys" "$root/proc"
step "make ext4 filesystem image"
rm -f "$out_raw"
mkfs.ext4 -q -L hastack-root -E root_owner=0:0 -d "$root" "$out_raw" 8G
step "done"
