"""Lab-only guest power relay: a guest VM's life follows its libvirt domain on the hypervisors.

Each hypervisor VM has a virtio-serial port whose host end is a unix socket of this daemon
(one socket per hypervisor, so the sender is known by the socket, not by what it claims).
A libvirt qemu hook inside the hypervisor writes "start NAME" / "destroy NAME" when a domain
of that name starts or stops. Only those two verbs, and only the lab's guest names, are
accepted; anything else is logged and dropped. The guest's qemu is acted on through its own
QMP socket, never through a shell or by process name.

    python -m hastack.lab.relay LABDIR
"""
from __future__ import annotations

import json
import os
import selectors
import socket
import sys
import time
from pathlib import Path

from hastack.lab import qemu
from hastack.lab.topology import guests, hypervisors

VERBS = ("start", "destroy")
MAX_LINE = 64


def relay_dir(lab: Path) -> Path:
    return lab / "relay"


def socket_path(lab: Path, hypervisor: str) -> Path:
    return relay_dir(lab) / f"{hypervisor}.sock"


def placement_path(lab: Path) -> Path:
    return relay_dir(lab) / "placement.json"


def read_placement(lab: Path) -> dict[str, str]:
    try:
        return json.loads(placement_path(lab).read_text())
    except (OSError, ValueError):
        return {}


def write_placement(lab: Path, placement: dict[str, str]) -> None:
    tmp = placement_path(lab).with_suffix(".tmp")
    tmp.write_text(json.dumps(placement, indent=1, sort_keys=True))
    os.replace(tmp, placement_path(lab))


def host_files(lab: Path, name: str) -> qemu.HostFiles:
    return qemu.HostFiles(lab / "hosts" / name)


def parse(line: bytes) -> tuple[str, str] | None:
    """('start'|'destroy', guest) for an allowed request, else None."""
    try:
        words = line.decode("ascii").split()
    except UnicodeDecodeError:
        return None
    allowed = {g.name for g in guests()}
    if len(words) == 2 and words[0] in VERBS and words[1] in allowed:
        return words[0], words[1]
    return None


def act(lab: Path, hypervisor: str, verb: str, guest: str, log) -> None:
    placement = read_placement(lab)
    files = host_files(lab, guest)
    if verb == "start":
        placement[guest] = hypervisor
        write_placement(lab, placement)
        before = qemu.status(files)
        if before != "on":
            qemu.power_on(files)
        log(f"{hypervisor}: start {guest} (was {before})")
    else:
        # A stop reported by a hypervisor that no longer hosts the guest must not kill it.
        if placement.get(guest, hypervisor) != hypervisor:
            log(f"{hypervisor}: destroy {guest} ignored (hosted by {placement[guest]})")
            return
        qemu.power_off(files)
        log(f"{hypervisor}: destroy {guest} -> off")


def serve(lab: Path) -> None:
    log_file = open(relay_dir(lab) / "relay.log", "a", buffering=1)

    def log(msg: str) -> None:
        log_file.write(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {msg}\n")

    sel = selectors.DefaultSelector()
    for hv in hypervisors():
        path = socket_path(lab, hv.name)
        path.unlink(missing_ok=True)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        os.chmod(path, 0o600)
        srv.listen(2)
        sel.register(srv, selectors.EVENT_READ, ("listen", hv.name))
    log("relay listening")
    buffers: dict[socket.socket, bytes] = {}
    while True:
        for key, _ in sel.select():
            kind, hv = key.data
            if kind == "listen":
                conn, _ = key.fileobj.accept()
                sel.register(conn, selectors.EVENT_READ, ("conn", hv))
                buffers[conn] = b""
                log(f"{hv}: connected")
                continue
            conn = key.fileobj
            data = conn.recv(4096)
            if not data:
                sel.unregister(conn)
                buffers.pop(conn, None)
                conn.close()
                log(f"{hv}: disconnected")
                continue
            buf = buffers[conn] + data
            *lines, rest = buf.split(b"\n")
            buffers[conn] = rest[-MAX_LINE:] if len(rest) > MAX_LINE else rest
            for line in lines:
                req = parse(line[:MAX_LINE])
                if req is None:
                    log(f"{hv}: refused {line[:MAX_LINE]!r}")
                    continue
                try:
                    act(lab, hv, req[0], req[1], log)
                except Exception as e:  # keep relaying whatever one guest's qemu does
                    log(f"{hv}: {req[0]} {req[1]} failed: {e}")


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
