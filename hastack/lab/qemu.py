"""qemu processes of the lab hosts: the command line (pure), start, and power control by QMP.

Power model: a lab host's qemu process lives as long as the lab. "Off" is a stopped VM that
has been reset (QMP stop + system_reset: no CPU runs, its NICs fall silent, the next start is
a cold boot); "on" is reset + cont. Keeping the process keeps its taps and sockets, so nothing
needs reconnecting after a power cycle. -no-shutdown turns a guest's own poweroff into "off".
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from hastack.lab import qmp
from hastack.lab.topology import NETWORKS, NIC_SLOTS, POWER_PORT_NAME, Host


@dataclass(frozen=True)
class HostFiles:
    dir: Path

    root = property(lambda s: s.dir / "root.qcow2")
    data = property(lambda s: s.dir / "data.qcow2")
    seed = property(lambda s: s.dir / "seed.img")
    seed_dir = property(lambda s: s.dir / "seed")
    qmp = property(lambda s: s.dir / "qmp.sock")
    pidfile = property(lambda s: s.dir / "qemu.pid")
    console = property(lambda s: s.dir / "console.log")
    log = property(lambda s: s.dir / "qemu.log")
    machine_id = property(lambda s: s.dir / "machine-id")
    posting = property(lambda s: s.dir / "posting")  # chassis on, firmware self-test running (lab BMC)


def kernel_cmdline(h: Host, machine_id: str) -> str:
    return " ".join([
        "root=/dev/vda", "rw", "console=ttyS0,115200", "quiet", "loglevel=4",
        f"systemd.machine_id={machine_id}", f"systemd.hostname={h.fqdn}",
    ])


def overlay_argv(base: Path, overlay: Path) -> list[str]:
    return ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(overlay)]


def blank_disk_argv(path: Path, size_gib: int) -> list[str]:
    return ["qemu-img", "create", "-q", "-f", "qcow2", str(path), f"{size_gib}G"]


# TCG's translation cache.  Tried 1 GiB on the hypervisors for nested domains: `info jit` still
# showed the same 5 full flushes as with 256 MiB (they do not come from the cache filling up), and
# the nested boot was no faster, so the smaller cache stays.
TB_MIB = 256


def qemu_argv(h: Host, files: HostFiles, kernel: Path, initrd: Path, machine_id: str,
              tap_fds: dict[str, int], relay_socket: Path | None) -> list[str]:
    """The full qemu command line for one lab host (TCG: KVM is not usable here)."""
    argv = [
        "qemu-system-x86_64",
        "-name", f"{h.name},process=hastack-lab-{h.name}",
        "-machine", "pc", "-accel", f"tcg,tb-size={TB_MIB}", "-cpu", "max",
        "-smp", "1", "-m", str(h.memory_mib),
        "-display", "none", "-vga", "none", "-monitor", "none",
        "-serial", f"file:{files.console}",
        "-qmp", f"unix:{files.qmp},server=on,wait=off",
        "-no-shutdown", "-daemonize", "-pidfile", str(files.pidfile),
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", kernel_cmdline(h, machine_id),
    ]
    # Disks in fixed slots: vda root (overlay), vdb data (VG or DRBD backing), vdc seed.
    for i, (path, fmt, serial) in enumerate(((files.root, "qcow2", "hastack-root"),
                                              (files.data, "qcow2", "hastack-data"),
                                              (files.seed, "raw", "hastack-seed"))):
        argv += ["-drive", f"file={path},if=none,id=d{i},format={fmt},cache=unsafe,discard=unmap",
                 "-device", f"virtio-blk-pci,drive=d{i},serial={serial},addr=0x{8 + i:x}"]
    # NIC 0: user-mode, restricted (no way out), only a loopback forward to sshd.
    argv += ["-netdev", f"user,id=fwd,restrict=on,hostfwd=tcp:127.0.0.1:{h.ssh_port}-:22",
             "-device", f"virtio-net-pci,netdev=fwd,mac={h.mac('fwd')},addr=0x{NIC_SLOTS['fwd'][1]:x}"]
    for net in NETWORKS:
        argv += ["-netdev", f"tap,id={net},fd={tap_fds[net]}",
                 "-device", f"virtio-net-pci,netdev={net},mac={h.mac(net)},addr=0x{NIC_SLOTS[net][1]:x}"]
    if relay_socket is not None:
        # Hypervisors: one virtio-serial port to the host-side guest power relay.
        argv += ["-chardev", f"socket,id=relay,path={relay_socket},reconnect=2",
                 "-device", "virtio-serial-pci,addr=0x7",
                 "-device", f"virtserialport,chardev=relay,name={POWER_PORT_NAME}"]
    return argv


# The lab's hosts stand for machines of their own: they come before pulumi, pcs and tests on
# this machine's cores.  Both the thread nice (inherited by qemu's vCPU threads) and the session's
# autogroup nice are set, since with autogroups on, a plain nice only ranks within one session
# (measured 2026-12-02: a nice 19 pytest in another session took a third of both cores).
LAB_NICE = -5


def start(argv: list[str], tap_fds: dict[str, int], log: Path) -> None:
    with open(log, "ab") as out:
        # -daemonize: returns once qemu is initialised, so a bad argument fails here.
        r = subprocess.run(["nice", "-n", str(LAB_NICE), *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                           pass_fds=tuple(tap_fds.values()), start_new_session=True)
    if r.returncode != 0:
        raise RuntimeError(f"qemu failed to start, see {log}")


def raise_autogroup(p: int) -> None:
    """The autogroup (session) of process `p` ranked LAB_NICE; nothing where the kernel has none."""
    try:
        Path(f"/proc/{p}/autogroup").write_text(f"{LAB_NICE}\n")
    except OSError:
        pass


def pid(files: HostFiles) -> int | None:
    """The pid of this host's qemu, only if that process really is it (command line checked)."""
    try:
        p = int(files.pidfile.read_text().strip())
        cmdline = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return p if f"unix:{files.qmp},server=on,wait=off".encode() in cmdline else None


def status(files: HostFiles) -> str:
    """'on', 'off' or 'absent' (no qemu process)."""
    if pid(files) is None:
        return "absent"
    try:
        st = qmp.command(files.qmp, "query-status")
    except (OSError, qmp.QMPError):
        return "absent"
    return "on" if st.get("status") == "running" else "off"


def power_off(files: HostFiles) -> None:
    qmp.command(files.qmp, "stop")
    qmp.command(files.qmp, "system_reset")


def power_on(files: HostFiles) -> None:
    if status(files) == "on":
        return
    qmp.command(files.qmp, "system_reset")
    qmp.command(files.qmp, "cont")


def reset(files: HostFiles) -> None:
    qmp.command(files.qmp, "system_reset")
    if status(files) != "on":
        qmp.command(files.qmp, "cont")


def quit(files: HostFiles) -> None:
    try:
        qmp.command(files.qmp, "quit", timeout=3)
    except (OSError, qmp.QMPError):
        pass
