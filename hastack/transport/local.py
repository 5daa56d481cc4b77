"""Commands on this machine: the one runner for pcs, crm_*, cibadmin and drbdadm run here (CIB
files, render, tests), and a transport over it for tests against real tools."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hastack.reports import CommandFailed
from hastack.transport import Result, shown


def run_local(argv, stdin: bytes | str | None = None, *, env: dict | None = None, ok_rc=(0,),
              name: str = "local") -> Result:
    """Run ARGV here (ENV replaces the environment when given); an exit code outside OK_RC
    raises CommandFailed with the command, its exit code and stderr."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    process = subprocess.run(list(argv), input=data, capture_output=True, env=env)
    result = Result(process.returncode, process.stdout.decode(errors="replace"), process.stderr.decode(errors="replace"))
    if result.exit_code not in ok_rc:
        raise CommandFailed(name, shown(argv), result.exit_code, result.stderr, result.stdout)
    return result


class LocalTransport:
    def __init__(self, name: str = "local", env: dict | None = None):
        self.name = name
        self.env = dict(os.environ, **(env or {}))

    def run(self, argv, stdin: bytes | None = None, *, ok_rc=(0,), secret_stdin: bool = False) -> Result:
        return run_local(argv, stdin, env=self.env, ok_rc=ok_rc, name=self.name)

    def put(self, path: str, content: bytes, mode: int = 0o644) -> None:
        Path(path).write_bytes(content)
        os.chmod(path, mode)

    def read(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None
