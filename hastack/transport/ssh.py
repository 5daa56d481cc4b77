"""The one SSH transport: paramiko, pinned host keys, one reused connection per host per process.

Host keys come from the stack config (inline keys or a known_hosts file); an unknown or changed
key is refused before any command runs.  Every argument is quoted; a non-root user runs commands
through `sudo -n`.  Failures name the host, the command, the exit code and stderr.
"""
from __future__ import annotations

import base64
import io
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from hastack.config.load import PROJECT_ROOT
from hastack.reports import CommandFailed, HastackError
from hastack.transport import UNREACHABLE, Result, put_argv, shown

log = logging.getLogger(__name__)

_POOL: dict[tuple, "SshTransport"] = {}
_POOL_LOCK = threading.Lock()
COUNTERS = {"connections": 0, "commands": 0}
KEEPALIVE_S = 15


@dataclass(frozen=True)
class SshTarget:
    name: str
    host: str
    port: int
    user: str
    host_keys: tuple[str, ...] = ()
    known_hosts_file: str | None = None
    key_file: str | None = None
    private_key: str | None = None  # secret: PEM/OpenSSH text
    connect_wait: int = 0  # seconds to keep retrying an unreachable host (a booting VM)

    @classmethod
    def from_props(cls, name: str, ssh: dict) -> "SshTarget":
        return cls(
            name=name,
            host=ssh["host"],
            port=int(ssh.get("port", 22)),
            user=ssh.get("user", "root"),
            host_keys=tuple(ssh.get("host_keys") or ()),
            known_hosts_file=ssh.get("known_hosts_file"),
            key_file=ssh.get("key_file"),
            private_key=ssh.get("private_key"),
            connect_wait=int(ssh.get("connect_wait") or 0),
        )

    @property
    def key_alias(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def pinned_host_keys(target: SshTarget) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    if target.known_hosts_file:
        path = _resolve(target.known_hosts_file)
        if not path.exists():
            raise HastackError("SSH_NO_KNOWN_HOSTS", f"{target.name}: known_hosts file {path} does not exist")
        keys.load(str(path))
    for line in target.host_keys:
        key_type, key_b64 = line.split()[:2]
        entry = paramiko.hostkeys.HostKeyEntry.from_line(f"{target.key_alias} {key_type} {key_b64}")
        if entry is None:
            raise HastackError("SSH_BAD_HOST_KEY", f"{target.name}: cannot parse host key {line!r}")
        keys.add(target.key_alias, entry.key.get_name(), entry.key)
    if target.key_alias not in keys:
        raise HastackError(
            "SSH_HOST_KEY_UNKNOWN",
            f"{target.name} ({target.key_alias}): no pinned host key; add it to ssh.host_keys or "
            f"{target.known_hosts_file or 'a known_hosts_file'} after checking its fingerprint out of band",
        )
    return keys


def _client_key(target: SshTarget):
    if target.private_key:
        text = target.private_key
    elif target.key_file:
        text = _resolve(target.key_file).read_text()
    else:
        return None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise HastackError("SSH_BAD_CLIENT_KEY", f"{target.name}: the client private key cannot be read")


# A host that accepted the TCP connection but failed the SSH handshake ("No existing session",
# a lost banner: seen on a hypervisor busy with a Pacemaker transition) is up, only slow.  Nothing
# has run yet, so the handshake is tried again, whatever connect_wait says.
HANDSHAKE_RETRIES, HANDSHAKE_PAUSE = 3, 5.0
MAX_SESSIONS = 6  # below sshd's MaxSessions (10), leaving room for an operator's own session
CHANNEL_OPEN_TIMEOUT = 60.0  # measured: a loaded emulated host took over 15 s to open one


class SshTransport:
    def __init__(self, target: SshTarget, connect_timeout: float = 15.0):
        self.target = target
        self.name = target.name
        self._timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()
        self._silent_until = 0.0
        self._sessions = threading.BoundedSemaphore(MAX_SESSIONS)
        self.silence_check = 120.0  # seconds without output before checking the host still answers

    @classmethod
    def pooled(cls, target: SshTarget) -> "SshTransport":
        key = (target.host, target.port, target.user, target.known_hosts_file, target.host_keys)
        with _POOL_LOCK:
            transport = _POOL.get(key)
            if transport is None or transport.target != target:
                transport = _POOL[key] = cls(target)
            return transport

    def _connect(self, wait: bool = True) -> paramiko.SSHClient:
        """Connect, retrying for `connect_wait` seconds while the host does not answer yet (a VM
        booting, a forward with nothing behind it).  A wrong host key or a refused login is
        never retried."""
        if self._client is not None and self._client.get_transport() and self._client.get_transport().is_active():
            return self._client
        deadline = time.monotonic() + (self.target.connect_wait if wait else 0)
        handshakes_left = HANDSHAKE_RETRIES if wait else 0
        while True:
            try:
                client = self._connect_once()
                break
            except HastackError as error:
                if error.code == "SSH_CONNECT" and handshakes_left > 0:
                    handshakes_left -= 1
                    log.info("%s: SSH handshake failed (%s); trying again", self.name, error)
                    time.sleep(HANDSHAKE_PAUSE)
                    continue
                if error.code not in UNREACHABLE or time.monotonic() >= deadline:
                    raise
                log.info("%s not answering yet (%s); retrying", self.name, error)
                time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        COUNTERS["connections"] += 1
        self._client = client
        return client

    def reachable(self) -> bool:
        """Connect without waiting; False when the host does not answer (other errors raise).
        A host found silent is not asked again for a minute (each try can cost a full timeout)."""
        with self._lock:
            if time.monotonic() < self._silent_until:
                return False
            try:
                self._connect(wait=False)
                return True
            except HastackError as error:
                if error.code in UNREACHABLE:
                    self._silent_until = time.monotonic() + 60
                    return False
                raise

    def _connect_once(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        client._host_keys = pinned_host_keys(self.target)  # only the pinned keys count
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.target.host,
                port=self.target.port,
                username=self.target.user,
                pkey=_client_key(self.target),
                timeout=self._timeout,
                banner_timeout=self._timeout,
                auth_timeout=self._timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException as error:
            raise HastackError(
                "SSH_HOST_KEY_MISMATCH",
                f"{self.name} ({self.target.key_alias}) presented a {error.key.get_name()} key that "
                "does not match the pinned one: refusing to connect (possible impersonation, or the "
                "host was rebuilt: re-pin its key after checking it out of band)",
            ) from None
        except paramiko.AuthenticationException as error:
            raise HastackError("SSH_AUTH", f"{self.name} ({self.target.key_alias}): login refused: {error}") from None
        except paramiko.SSHException as error:
            raise HastackError("SSH_CONNECT", f"{self.name} ({self.target.key_alias}): {error}") from None
        except OSError as error:
            raise HastackError("SSH_UNREACHABLE", f"{self.name} ({self.target.key_alias}): {error}") from None
        # A host that rebooted under a command (a fence) answers new connections while the old one
        # waits forever: keepalives reach its new kernel, whose reset closes the old connection.
        client.get_transport().set_keepalive(KEEPALIVE_S)
        return client

    def _command(self, argv) -> str:
        command = shown(argv)
        return command if self.target.user == "root" else "sudo -n -- " + command

    def run(self, argv, stdin: bytes | None = None, *, ok_rc=(0,), secret_stdin: bool = False) -> Result:
        # One connection per host, one channel per command: commands of resources that Pulumi
        # creates in parallel run side by side (a long `drbdadm wait-connect` holds up no one),
        # a few at a time (sshd allows 10 sessions per connection; a busy host opens them slowly).
        started = time.monotonic()
        with self._sessions:
            channel = self._open_channel(argv)
            try:
                channel.exec_command(self._command(argv))
                if stdin is not None:
                    channel.sendall(stdin)
                channel.shutdown_write()
                stdout, stderr = _drain_both(channel, self._still_answers, self.silence_check)
                code = channel.recv_exit_status()
                if code == -1:  # paramiko's "no exit status": the connection closed under the command
                    raise EOFError("the connection closed before the command's exit status came")
            except (paramiko.SSHException, OSError, EOFError) as error:
                self._forget_if_dead()
                raise HastackError("SSH_LOST", f"{self.name}: the connection failed while `{shown(argv)}` ran "
                                   f"({error or type(error).__name__}); it may or may not have taken effect") from None
            finally:
                channel.close()
        log.debug("%s: %s -> %s", self.name, shown(argv), code)
        _trace(self.name, argv, code, time.monotonic() - started)
        result = Result(code, stdout, stderr)
        if code not in ok_rc:
            raise CommandFailed(self.name, shown(argv), code, stderr, stdout)
        return result

    def _still_answers(self) -> bool:
        # Twice: one missed banner on a busy host is not yet a lost host.
        return any(answers_banner(self.target.host, self.target.port) for _ in range(2))

    def _open_channel(self, argv):
        """A session channel; nothing has run yet, so a channel that fails to open is retried."""
        for attempt in range(3):
            with self._lock:
                client = self._connect()
                if attempt == 0:
                    COUNTERS["commands"] += 1
            try:
                return client.get_transport().open_session(timeout=CHANNEL_OPEN_TIMEOUT)
            except (paramiko.SSHException, OSError, EOFError) as error:
                last = error
                log.info("%s: opening a channel failed (%s); retrying", self.name, error)
                self._forget_if_dead()
        raise HastackError("SSH_CHANNEL", f"{self.name}: could not open a session for `{shown(argv)}` "
                           f"({last}); the command did not run")

    def put(self, path: str, content: bytes, mode: int = 0o644) -> None:
        self.run(put_argv(path, mode), stdin=content, secret_stdin=True)

    def read(self, path: str) -> bytes | None:
        # base64: command output is decoded as text, which would mangle a binary file (live: a
        # corosync authkey read back 465 bytes long and split the cluster it was copied into).
        result = self.run(["base64", "-w0", "--", path], ok_rc=(0, 1))
        return base64.b64decode(result.stdout) if result.exit_code == 0 else None

    def _forget_if_dead(self) -> None:
        """Drop a connection that died (the next command reconnects); a live one is shared."""
        with self._lock:
            client = self._client
            if client is not None and not (client.get_transport() and client.get_transport().is_active()):
                self._client = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _trace(host: str, argv, code: int, seconds: float) -> None:
    """With HASTACK_SSH_TRACE=FILE, one line per round trip (for bench/): host, exit, program,
    seconds the command took, and when it ended."""
    path = os.environ.get("HASTACK_SSH_TRACE")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{host}\t{code}\t{argv[0] if argv else ''}\t{seconds:.2f}\t{time.time():.1f}\n")


def answers_banner(host: str, port: int, timeout: float = 20.0) -> bool:
    """Does an sshd answer at host:port now?  A forward (or a NAT) can keep a TCP connection open
    to a host that froze or lost power; a fresh connection that gets no banner tells."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as probe:
            probe.settimeout(timeout)
            return probe.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _drain_both(channel, still_alive=None, silence: float = 120.0) -> tuple[str, str]:
    """Read stdout and stderr together, so a command that fills one while we wait on the other
    cannot stall (paramiko stops the sender when a channel's window is full).  After `silence`
    seconds without output, ask `still_alive()`; a host that no longer answers ends the wait
    (live: a guest powered off by a fence left a command waiting forever)."""
    out, err, pause = bytearray(), bytearray(), 0.001
    quiet_since = time.monotonic()
    while not (channel.eof_received and not channel.recv_ready() and not channel.recv_stderr_ready()):
        if still_alive is not None and time.monotonic() - quiet_since > silence:
            if not still_alive():
                raise OSError(f"no SSH banner from the host after {silence:.0f} s without output")
            quiet_since = time.monotonic()
        got = False
        if channel.recv_ready():
            out += channel.recv(65536)
            got = True
        if channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
            got = True
        if got:
            pause, quiet_since = 0.001, time.monotonic()
        else:
            pause = min(pause * 2, 0.05)
            time.sleep(pause)
    return out.decode("utf-8", errors="replace"), err.decode("utf-8", errors="replace")


def close_all() -> None:
    with _POOL_LOCK:
        for transport in _POOL.values():
            transport.close()
        _POOL.clear()
