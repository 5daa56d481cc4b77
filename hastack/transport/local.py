"""A transport that runs commands on this machine: for tests against real tools on file CIBs
(cibadmin, crm_* read CIB_file) and for local steps."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hastack.reports import CommandFailed
from hastack.transport import Result, shown


class LocalTransport:
    def __init__(self, name: str = "local", env: dict | None = None):
        self.name = name
        self.env = dict(os.environ, **(env or {}))

    def run(self, argv, stdin: bytes | None = None, *, ok_rc=(0,), secret_stdin: bool = False) -> Result:
        process = subprocess.run(list(argv), input=stdin, capture_output=True, env=self.env)
        result = Result(process.returncode, process.stdout.decode(errors="replace"), process.stderr.decode(errors="replace"))
        if result.exit_code not in ok_rc:
            raise CommandFailed(self.name, shown(argv), result.exit_code, result.stderr, result.stdout)
        return result

    def put(self, path: str, content: bytes, mode: int = 0o644) -> None:
        Path(path).write_bytes(content)
        os.chmod(path, mode)

    def read(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None
