"""A minimal QMP client (qemu's JSON control socket): one command per connection."""
from __future__ import annotations

import json
import socket
from pathlib import Path


class QMPError(RuntimeError):
    pass


def command(sock_path: Path, execute: str, arguments: dict | None = None, timeout: float = 10.0) -> object:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock_path))
        f = s.makefile("rwb")
        _read_reply(f, greeting=True)
        for cmd in ({"execute": "qmp_capabilities"}, {"execute": execute, **({"arguments": arguments} if arguments else {})}):
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            reply = _read_reply(f)
        return reply


def _read_reply(f, greeting: bool = False) -> object:
    while True:
        line = f.readline()
        if not line:
            raise QMPError("QMP connection closed")
        msg = json.loads(line)
        if greeting and "QMP" in msg:
            return msg
        if "return" in msg:
            return msg["return"]
        if "error" in msg:
            raise QMPError(msg["error"].get("desc", str(msg["error"])))
        # anything else is an asynchronous event: skip it
