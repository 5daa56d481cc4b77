"""A transport that answers from a script: for tests of plans and providers without hosts."""
from __future__ import annotations

from hastack.reports import CommandFailed
from hastack.transport import Result, shown


class ScriptedTransport:
    def __init__(self, name: str, answers: dict[str, Result] | None = None, fail_on: str | None = None):
        self.name = name
        self.answers = answers or {}
        self.fail_on = fail_on
        self.calls: list[str] = []
        self.files: dict[str, bytes] = {}

    def run(self, argv, stdin=None, *, ok_rc=(0,), secret_stdin=False) -> Result:
        command = shown(argv)
        self.calls.append(command)
        if self.fail_on and self.fail_on in command:
            raise CommandFailed(self.name, command, 1, "scripted failure")
        for prefix, result in self.answers.items():
            if command.startswith(prefix):
                if result.exit_code not in ok_rc:
                    raise CommandFailed(self.name, command, result.exit_code, result.stderr)
                return result
        return Result(0, "", "")

    def put(self, path, content, mode=0o644) -> None:
        self.calls.append(f"put {path} {oct(mode)}")
        if self.fail_on and self.fail_on in path:
            raise CommandFailed(self.name, f"put {path}", 1, "scripted failure")
        self.files[path] = content

    def read(self, path):
        return self.files.get(path)
