"""The lab's Nagios server: Debian's nagios4 with nsca-ng-server and an sshd, as processes inside
the lab's network namespace at NAGIOS_ADDRESS on the management bridge (as the BMCs are).

They run in a mount namespace of their own, where the packages bin/setup unpacks without
installing (setup/apt-unpacked.txt) are overlaid on /usr, and /etc, /var and /run are overlays
whose writes land in .lab/nagios: so the server has Debian's own paths (nagios4 -v
/etc/nagios4/nagios.cfg, /etc/nagios4/conf.d, /etc/nsca-ng/nsca-ng.local.cfg, a `nagios` user)
while nothing of this machine's own files changes, and `lab down` (removing .lab) leaves nothing.
The stack reaches its sshd through a loopback forward, 127.0.0.1:NAGIOS_SSH_PORT, with a host key
pinned in .lab/known_hosts, as it reaches the hosts.  systemd is not there: the lab stack names
`hastack-lab-service reload nagios4` (a HUP to the daemon) as its reload commands.

    python -m hastack.lab.nagios LABDIR ANCHOR_PID     (started by `lab up`; SIGTERM stops it all)

One supervisor process: it binds the forward's listening socket in this machine's namespace, then
enters the lab's network namespace and a new mount namespace, mounts, starts the daemons (each
dies with it: PR_SET_PDEATHSIG) and forwards connections.
"""
from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from hastack.lab.paths import unpacked_root
from hastack.lab.topology import NAGIOS_ADDRESS, NAGIOS_SSH_PORT

NSCA_PORT = 5668
NAGIOS_UID = 64071  # the `nagios` user of the server's /etc (an overlay): no user of this machine's
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
PR_SET_PDEATHSIG = 1
# What the daemons need from the unpacked packages; without them the lab has no Nagios.
NEEDED = ("usr/sbin/nagios4", "usr/sbin/nsca-ng", "usr/lib/nagios/plugins/check_nrpe", "etc/nagios4/nagios.cfg")
OVERLAID = ("etc", "var", "run")  # writable overlays (upper dirs in the lab); /usr is read-only
PID_FILES = {"nagios4": "/run/nagios4/nagios4.pid", "nsca-ng": "/run/nsca-ng/nsca-ng.pid"}
SERVICE_SHIM = f"""#!/bin/sh
# hastack lab: `hastack-lab-service reload|restart nagios4|nsca-ng`; no systemd in the lab's Nagios.
case "$2" in
nagios4) pid={PID_FILES["nagios4"]};; nsca-ng) pid={PID_FILES["nsca-ng"]};;
*) echo "hastack-lab-service: unknown service $2" >&2; exit 2;;
esac
case "$1" in reload|restart|try-restart) ;; *) echo "hastack-lab-service: unknown verb $1" >&2; exit 2;; esac
kill -HUP "$(cat "$pid")"
"""


def nagios_dir(lab: Path) -> Path:
    return lab / "nagios"


def missing_packages(root: Path | None = None) -> list[str]:
    root = root or unpacked_root()
    return [p for p in NEEDED if not (root / p).exists()]


# ---- the server's files (pure) -----------------------------------------------------------------
def render_nagios_cfg(debian: str) -> str:
    """Debian's nagios.cfg with the lab's changes: no syslog (this machine's), no update check (no
    network), no notifications (no mail here), passive results logged (the event feed), the server itself (LAB_OBJECTS) instead of
    Debian's sample localhost, whose checks come from plugins not unpacked."""
    changed = {"use_syslog": "0", "check_for_updates": "0", "log_passive_checks": "1", "enable_notifications": "0",
               "accept_passive_service_checks": "1", "check_external_commands": "1"}
    out = []
    for line in debian.splitlines():
        key = line.split("=", 1)[0]
        if line.strip() == "cfg_file=/etc/nagios4/objects/localhost.cfg":
            out.append("cfg_file=/etc/nagios4/objects/hastack-lab.cfg")
        elif key in changed:
            out.append(f"{key}={changed.pop(key)}")
        else:
            out.append(line)
    out += [f"{k}={v}" for k, v in changed.items()]
    return "\n".join(out) + "\n"


# Nagios starts only with a host and a service: the server itself, pinged.
LAB_OBJECTS = """# hastack lab: the Nagios server itself (Nagios will not start without a host and a service).
define host {
    use        linux-server
    host_name  nagios-lab
    address    127.0.0.1
}
define service {
    use                  generic-service
    host_name            nagios-lab
    service_description  PING
    check_command        check_ping!100.0,20%!500.0,60%
}
"""


def render_nsca_cfg() -> str:
    """nsca-ng.cfg: on the lab address, into Nagios's command pipe, the stack's authorization included.
    nsca-ng wants one authorization at least: a placeholder that may submit nothing, until the
    stack writes its own into nsca-ng.local.cfg."""
    return (
        "# hastack lab: Debian's nsca-ng.cfg, listening on the lab's Nagios address.\n"
        'command_file = "/var/lib/nagios4/rw/nagios.cmd"\n'
        f'listen = "{NAGIOS_ADDRESS}:{NSCA_PORT}"\n'
        # No `user`: nsca-ng re-executes itself on SIGHUP (the lab's reload), which it cannot do
        # once it has dropped root (setgroups fails); root writes Nagios's pipe as well.
        "include(/etc/nsca-ng/nsca-ng.local.cfg)\n"
        f'authorize "hastack-lab-placeholder" {{\n    password = "{secrets.token_hex(16)}"\n}}\n'
    )


def render_sshd_config(lab: Path) -> str:
    d = nagios_dir(lab)
    return "\n".join([
        "# hastack lab: the Nagios server's sshd (keys only, the lab's operator key).",
        f"ListenAddress {NAGIOS_ADDRESS}:22",
        f"HostKey {d / 'ssh_host_ed25519_key'}",
        f"AuthorizedKeysFile {d / 'authorized_keys'}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        # The lab directory may sit under a world-writable one (HASTACK_LAB_DIR in /tmp); its files are root's.
        "StrictModes no",
        "PidFile /run/sshd-nagios.pid",
        "Subsystem sftp internal-sftp",
        "",
    ])


def write_files(lab: Path, operator_pub: str, root: Path | None = None) -> str:
    """The server's directory: the lower layers of its overlays, sshd's config and keys.  Returns
    the host's public key (for .lab/known_hosts)."""
    from hastack.lab import seed

    root = root or unpacked_root()
    d = nagios_dir(lab)
    usr, etc = d / "lower" / "usr", d / "lower" / "etc"
    (usr / "local" / "sbin").mkdir(parents=True, exist_ok=True)
    shim = usr / "local" / "sbin" / "hastack-lab-service"
    shim.write_text(SERVICE_SHIM)
    shim.chmod(0o755)
    for name in ("nagios4", "nagios-plugins"):
        shutil.copytree(root / "etc" / name, etc / name, symlinks=True, dirs_exist_ok=True)
    # What the plugins' postinst does: their command templates into /etc/nagios-plugins/config.
    for template in (root / "usr/share/monitoring-plugins/templates-basic").glob("*.cfg"):
        shutil.copy(template, etc / "nagios-plugins" / "config" / template.name)
    (etc / "nagios4" / "objects" / "hastack-lab.cfg").write_text(LAB_OBJECTS)
    (etc / "nagios4" / "nagios.cfg").write_text(render_nagios_cfg((root / "etc/nagios4/nagios.cfg").read_text()))
    (etc / "nagios4" / "conf.d" / "hastack").mkdir(parents=True, exist_ok=True)
    (etc / "nsca-ng").mkdir(parents=True, exist_ok=True)
    (etc / "nsca-ng" / "nsca-ng.cfg").write_text(render_nsca_cfg())
    (etc / "nsca-ng" / "nsca-ng.local.cfg").write_text("# written by the stack (monitoring.nagios.nsca_authorize_file)\n")
    for layer in OVERLAID:
        (d / "upper" / layer).mkdir(parents=True, exist_ok=True)
        (d / "work" / layer).mkdir(parents=True, exist_ok=True)
    (d / "authorized_keys").write_text(operator_pub + "\n")
    (d / "sshd_config").write_text(render_sshd_config(lab))
    return seed.ensure_key(d / "ssh_host_ed25519_key", "hastack-lab nagios")


def mount_argvs(lab: Path, root: Path | None = None) -> list[list[str]]:
    """The mounts of the server's namespace: /usr gets the packages (read-only), /etc gets their
    configs and takes writes, /var and /run take writes; each lower layer ends in this machine's own."""
    root = root or unpacked_root()
    d = nagios_dir(lab)
    argvs = [["mount", "--make-rprivate", "/"],
             ["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={d / 'lower' / 'usr'}:{root / 'usr'}:/usr", "/usr"]]
    for layer in OVERLAID:
        lower = f"{d / 'lower' / layer}:/{layer}" if layer == "etc" else f"/{layer}"
        argvs.append(["mount", "-t", "overlay", "overlay", "-o",
                      f"lowerdir={lower},upperdir={d / 'upper' / layer},workdir={d / 'work' / layer}", f"/{layer}"])
    return argvs


PREPARE = f"""
set -e
grep -q '^nagios:' /etc/group || echo 'nagios:x:{NAGIOS_UID}:' >> /etc/group
grep -q '^nagios:' /etc/passwd || echo 'nagios:x:{NAGIOS_UID}:{NAGIOS_UID}:Nagios:/var/lib/nagios4:/usr/sbin/nologin' >> /etc/passwd
mkdir -p /var/lib/nagios4/rw /var/lib/nagios4/spool/checkresults /var/log/nagios4/archives /var/cache/nagios4 \\
  /run/nagios4 /run/nsca-ng /run/sshd
chown -R nagios:nagios /var/lib/nagios4 /var/log/nagios4 /var/cache/nagios4 /run/nagios4 /run/nsca-ng
chgrp nagios /etc/nsca-ng/nsca-ng.cfg /etc/nsca-ng/nsca-ng.local.cfg /etc/nagios4/resource.cfg  # as the postinsts do
chmod 0640 /etc/nsca-ng/nsca-ng.cfg /etc/nagios4/resource.cfg
"""


def daemon_argvs(lab: Path) -> dict[str, list[str]]:
    return {
        "sshd": ["/usr/sbin/sshd", "-D", "-e", "-f", str(nagios_dir(lab) / "sshd_config")],
        "nagios4": ["/usr/sbin/nagios4", "/etc/nagios4/nagios.cfg"],
        "nsca-ng": ["/usr/sbin/nsca-ng", "-F", "-c", "/etc/nsca-ng/nsca-ng.cfg"],
    }


# ---- the supervisor ----------------------------------------------------------------------------
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _enter(anchor_pid: int) -> None:
    libc = _libc()
    fd = os.open(f"/proc/{anchor_pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into the lab namespace")
    finally:
        os.close(fd)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare a mount namespace")


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _forward(listener: socket.socket) -> None:
    """Each connection to the loopback port, to the server's sshd (sockets made here are the lab's)."""
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection((NAGIOS_ADDRESS, 22), timeout=10)
            server.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def serve(lab: Path, anchor_pid: int, ssh_port: int = NAGIOS_SSH_PORT) -> int:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", ssh_port))  # this machine's loopback, before entering the lab's namespace
    listener.listen(16)
    _enter(anchor_pid)
    for argv in mount_argvs(lab):
        subprocess.run(argv, check=True)
    subprocess.run(["sh", "-c", PREPARE], check=True)
    children = {}
    for name, argv in daemon_argvs(lab).items():
        log = open(nagios_dir(lab) / f"{name}.log", "ab")
        children[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          preexec_fn=_die_with_parent)
        if name in PID_FILES:  # in the foreground neither writes one: hastack-lab-service reads it
            Path(PID_FILES[name]).write_text(f"{children[name].pid}\n")

    def stop(*_):
        for child in children.values():
            child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=_forward, args=(listener,), daemon=True).start()
    while True:  # a daemon that dies is logged, not restarted: `lab status` shows it
        for name, child in list(children.items()):
            if child.poll() is not None:
                print(f"[nagios {time.strftime('%H:%M:%S')}] {name} exited {child.returncode}", flush=True)
                del children[name]
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1]), int(sys.argv[2]), *(int(a) for a in sys.argv[3:4])))
