"""Typed reports and the one error type raised at boundaries (CLI, providers)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Report:
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.severity.value.upper()} {self.code}: {self.message}"


class HastackError(Exception):
    """Raised at a boundary; its text is what the operator reads."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ConfigError(HastackError):
    pass


class CommandFailed(HastackError):
    """A command on a host failed: the host, the (masked) command, its exit code and stderr."""

    def __init__(self, host: str, argv_shown: str, exit_code: int, stderr: str, stdout: str = ""):
        self.host, self.argv_shown, self.exit_code = host, argv_shown, exit_code
        self.stderr, self.stdout = stderr, stdout
        tail = stderr.strip() or stdout.strip()
        super().__init__(
            "COMMAND_FAILED", f"on {host}: `{argv_shown}` exited {exit_code}: {tail[-2000:]}"
        )
