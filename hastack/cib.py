"""The fast, atomic path to a cluster's CIB.

Read it with `cibadmin -Q` (0.3 s on a lab host), replay `pcs -f` on a local copy (pcs is slow on
the hosts, ~9 s a call under emulation, and ~0.5 s here), verify the result with crm_verify,
and push the difference once with `cibadmin --patch`.

The patch is versionless (`crm_diff --no-version`, as `pcs cluster cib-push diff-against` does):
a versioned one is refused by every status update (num_updates moves with each monitor result),
which on a live cluster is every second or two.  Instead the push checks, in the same command on
the host, that the configuration's epoch is still the one the edit started from; if another
configuration change landed in between, hastack reads the CIB again and redoes the edit.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

from hastack.reports import CommandFailed, HastackError
from hastack.transport import Result, Transport, shown
from hastack.transport.local import run_local

COUNTERS = {"pcs": 0}
BATCH_SCRIPT = Path(__file__).with_name("pcs_batch.py")


def empty_cib() -> str:
    return _local(["cibadmin", "--empty"]).stdout


def _local(argv: list[str], env: dict | None = None, ok=(0,)) -> Result:
    try:
        return run_local(argv, env=env, ok_rc=ok)
    except CommandFailed as failed:
        raise HastackError(
            "LOCAL_COMMAND_FAILED",
            f"`{shown(argv)}` exited {failed.exit_code}: {(failed.stderr or failed.stdout).strip()[-2000:]}",
        ) from None


def _local_any(argv: list[str], stdin: str | None = None, env: dict | None = None) -> Result:
    """ARGV's result whatever its exit code: its caller reads the outcome itself."""
    try:
        return run_local(argv, stdin, env=env)
    except CommandFailed as failed:
        return Result(failed.exit_code, failed.stdout, failed.stderr)


def pcs_interpreter() -> str | None:
    """The interpreter of the installed `pcs` script (its shebang), which can import pcs."""
    path = shutil.which("pcs")
    if not path:
        raise HastackError("PCS_MISSING", "pcs is not installed here; run bin/setup")
    first = Path(path).read_text(errors="replace").splitlines()[0]
    return first[2:].split()[0] if first.startswith("#!") and "python" in first else None


def apply_pcs(cib_xml: str, commands, secrets: dict[str, str] | None = None) -> str:
    """Replay pcs commands on a copy of `cib_xml`; return the edited XML with secrets filled in."""
    commands = [list(argv) for argv in commands]
    with tempfile.TemporaryDirectory(prefix="hastack-cib-") as tmp:
        path = Path(tmp) / "cib.xml"
        path.write_text(cib_xml)
        env = dict(os.environ, CIB_file=str(path), LC_ALL="C")
        interpreter = pcs_interpreter()
        COUNTERS["pcs"] += len(commands)
        if interpreter and commands:
            _pcs_batch(interpreter, path, commands, env)
        else:
            for argv in commands:
                _local(["pcs", "-f", str(path), *argv], env=env)
        text = path.read_text()
    return fill_secrets(text, secrets or {})


def _pcs_batch(interpreter: str, path: Path, commands: list[list[str]], env: dict) -> None:
    batch = [["-f", str(path), *argv] for argv in commands]
    process = _local_any([interpreter, "-Es", str(BATCH_SCRIPT)], json.dumps(batch), env=env)
    try:
        outcome = json.loads(process.stdout or "{}")
    except json.JSONDecodeError:
        outcome = {}
    if process.exit_code != 0 or outcome.get("failed") is not None:
        failed = outcome.get("failed")
        where = shown(["pcs", *commands[failed]]) if isinstance(failed, int) else "pcs batch"
        raise HastackError("PCS_FAILED", f"`{where}` failed: {process.stderr.strip()[-2000:]}")


def fill_secrets(cib_xml: str, secrets: dict[str, str]) -> str:
    for placeholder, value in secrets.items():
        # The placeholder sits inside value="..."; quoteattr escapes the secret for XML.
        cib_xml = cib_xml.replace(f'"{placeholder}"', quoteattr(value))
    return cib_xml


# crm_verify also reports cluster-level findings that are expected mid-build (no fence device
# yet while stonith-enabled=true); only a CIB that fails its schema is refused before the push.
_SCHEMA_FAILURE = ("does not validate", "schema", "failed to parse", "not a valid", "relax-ng")


def verify(cib_xml: str) -> str:
    """crm_verify's findings on a CIB ('' when clean); raises when the CIB is not valid XML/schema."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
        handle.write(cib_xml)
        handle.flush()
        process = _local_any(["crm_verify", "--xml-file", handle.name, "-V"])
    text = (process.stderr + process.stdout).strip()
    if process.exit_code != 0 and any(word in text.lower() for word in _SCHEMA_FAILURE):
        raise HastackError("CIB_INVALID", f"crm_verify rejects the edited CIB: {text[-2000:]}")
    return text


def diff(old_xml: str, new_xml: str) -> str | None:
    """A versionless crm_diff patch from old to new, or None when nothing changed."""
    with tempfile.TemporaryDirectory(prefix="hastack-diff-") as tmp:
        old, new = Path(tmp) / "old.xml", Path(tmp) / "new.xml"
        old.write_text(old_xml)
        new.write_text(new_xml)
        os.chmod(tmp, 0o700)
        process = _local(["crm_diff", "--no-version", "--original", str(old), "--new", str(new)], ok=(0, 1))
    return process.stdout if process.exit_code == 1 else None


class LiveCib:
    """A cluster's CIB reached through one node's transport."""

    def __init__(self, transport: Transport):
        self.transport = transport

    def query(self) -> str:
        return self.transport.run(["cibadmin", "--query"]).stdout

    def configuration(self) -> str:
        return self.transport.run(["cibadmin", "--query", "--scope", "configuration"]).stdout

    def edit(self, commands, secrets: dict[str, str] | None = None, retries: int = 6) -> bool:
        """Apply pcs commands as one patch; True when the CIB changed.

        Edits of one cluster that arrive while another is being pushed (Pulumi creates resources
        in parallel, all in this one provider process) go out together as the next patch: one
        query, one pcs batch, one push.  A group that fails is retried edit by edit, so every
        resource gets its own outcome."""
        group = _group(self.transport.name)
        ticket = _Ticket([list(c) for c in commands], dict(secrets or {}))
        with group.guard:
            group.pending.append(ticket)
        with group.leader:
            if not ticket.done:
                with group.guard:
                    batch, group.pending = group.pending, []
                self._push_group(batch, retries)
        if ticket.error is not None:
            raise ticket.error
        return bool(ticket.changed)

    def _push_group(self, batch: list["_Ticket"], retries: int) -> None:
        try:
            commands = [c for t in batch for c in t.commands]
            secrets = {k: v for t in batch for k, v in t.secrets.items()}
            changed = self._edit(commands, secrets, retries)
            for t in batch:
                t.changed = changed
        except HastackError as error:
            if len(batch) == 1:
                batch[0].error = error
            else:
                self._push_separately(batch, retries)
        finally:
            for t in batch:
                t.done = True

    def _push_separately(self, batch: list["_Ticket"], retries: int) -> None:
        """A group failed: find the edits that fail on their own (locally, nothing pushed), give
        them their own errors, and push the rest together."""
        current = self.query()
        good = []
        for t in batch:
            try:
                verify(apply_pcs(current, t.commands, t.secrets))
                good.append(t)
            except HastackError as own:
                t.error = own
        if len(good) == len(batch):  # each is fine alone: the combination or the push failed
            for t in batch:
                try:
                    t.changed = self._edit(t.commands, t.secrets, retries)
                except HastackError as own:
                    t.error = own
        elif good:
            self._push_group(good, retries)

    def _edit(self, commands, secrets, retries) -> bool:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(random.uniform(0.5, 1.5) * attempt)  # let the other writer finish
            current = self.query()
            edited = apply_pcs(current, commands, secrets)
            verify(edited)
            patch = diff(current, edited)
            if patch is None:
                return False
            result = self.transport.run(guarded_patch_argv(config_version(current)), stdin=patch.encode(),
                                        ok_rc=(0, CONFIG_MOVED), secret_stdin=True)
            if result.exit_code == 0:
                return True
        raise HastackError(
            "CIB_BUSY", f"{self.transport.name}: the configuration kept changing while hastack patched it; retry"
        )


class _Ticket:
    def __init__(self, commands: list, secrets: dict):
        self.commands, self.secrets = commands, secrets
        self.done, self.changed, self.error = False, None, None


class _Group:
    """Edits waiting for one cluster, and the lock its one pushing thread holds."""

    def __init__(self):
        self.guard, self.leader, self.pending = threading.Lock(), threading.Lock(), []


_GROUPS: dict[str, _Group] = {}
_GROUPS_GUARD = threading.Lock()


def _group(name: str) -> _Group:
    with _GROUPS_GUARD:
        return _GROUPS.setdefault(name, _Group())


CONFIG_MOVED = 75  # exit code of the guard below: the configuration changed since the query
# $1 is the expected `admin_epoch.epoch`; the patch arrives on stdin.
GUARDED_PATCH = (
    'head=$(cibadmin --query --xpath /cib --no-children) || exit 1; '
    'a=$(printf "%s" "$head" | sed -n \'s/.* admin_epoch="\\([0-9]*\\)".*/\\1/p\'); '
    'e=$(printf "%s" "$head" | sed -n \'s/.* epoch="\\([0-9]*\\)".*/\\1/p\'); '
    '[ "$a.$e" = "$1" ] || { echo "configuration is at $a.$e, the edit started from $1" >&2; exit 75; }; '
    'exec cibadmin --patch --xml-pipe'
)


def config_version(cib_xml: str) -> str:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(cib_xml)
    return f"{root.get('admin_epoch', '0')}.{root.get('epoch', '0')}"


def guarded_patch_argv(expected_version: str) -> list[str]:
    return ["sh", "-c", GUARDED_PATCH, "sh", expected_version]


class FileCib:
    """A CIB in a local file: what `render` builds, with the very same pcs commands.

    Edits queue up and run as one pcs batch on `flush`, in the order they were made."""

    def __init__(self, path: Path):
        self.path = path
        self._queue: list = []
        self._secrets: dict[str, str] = {}
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(empty_cib())

    def edit(self, commands, secrets: dict[str, str] | None = None) -> None:
        self._queue += [list(c) for c in commands]
        self._secrets.update(secrets or {})

    def flush(self) -> None:
        if self._queue:
            self.path.write_text(apply_pcs(self.path.read_text(), self._queue, self._secrets))
            self._queue, self._secrets = [], {}


def quote_for_log(commands) -> str:
    return "\n".join("pcs " + shown(argv) for argv in commands)
