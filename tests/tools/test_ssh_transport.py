"""The SSH transport against a real sshd on loopback: pinned keys, quoting, errors, reuse."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hastack.reports import CommandFailed, HastackError
from hastack.transport.ssh import COUNTERS, SshTarget, SshTransport

pytestmark = pytest.mark.tools


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int) -> None:
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def _keygen(path: Path, kind: str = "ed25519") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
    return Path(f"{path}.pub").read_text().strip()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd_bin).exists():
        pytest.fail("sshd is missing: bin/setup installs openssh-server")
    d = tmp_path_factory.mktemp("sshd")
    host_key = d / "host_ed25519"
    host_pub = _keygen(host_key)
    client_key = d / "client_ed25519"
    client_pub = _keygen(client_key)
    (d / "authorized_keys").write_text(client_pub + "\n")
    port = _free_port()
    Path("/run/sshd").mkdir(exist_ok=True)
    (d / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nStrictModes no\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
    )
    process = subprocess.Popen([sshd_bin, "-D", "-e", "-f", str(d / "sshd_config")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_listening(port)
    yield {"port": port, "host_pub": host_pub, "client_key": str(client_key), "dir": d}
    process.terminate()
    process.wait(timeout=10)


def target(sshd, **over) -> SshTarget:
    base = dict(name="node9", host="127.0.0.1", port=sshd["port"], user="root",
                host_keys=(" ".join(sshd["host_pub"].split()[:2]),), key_file=sshd["client_key"])
    base.update(over)
    return SshTarget(**base)


def test_pinned_key_connects_and_arguments_arrive_verbatim(sshd):
    transport = SshTransport(target(sshd))
    tricky = ["it's", "two words", "$HOME", "`id`", "a;b", "*", ""]
    result = transport.run(["printf", "[%s]\n", *tricky])
    assert result.stdout.splitlines() == [f"[{arg}]" for arg in tricky]
    transport.close()


def test_wrong_host_key_is_refused_before_any_command(sshd, tmp_path):
    other = " ".join(_keygen(tmp_path / "other").split()[:2])
    marker = tmp_path / "ran"
    transport = SshTransport(target(sshd, host_keys=(other,)))
    with pytest.raises(HastackError) as caught:
        transport.run(["touch", str(marker)])
    assert caught.value.code == "SSH_HOST_KEY_MISMATCH" and "refusing to connect" in caught.value.message
    assert not marker.exists()


def test_unpinned_host_is_refused(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("# nothing pinned yet\n")
    with pytest.raises(HastackError, match="SSH_HOST_KEY_UNKNOWN"):
        SshTransport(target(sshd, host_keys=(), known_hosts_file=str(known))).run(["true"])


def test_known_hosts_file_with_port_alias(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd['port']} {sshd['host_pub']}\n")
    assert SshTransport(target(sshd, host_keys=(), known_hosts_file=str(known))).run(["echo", "ok"]).stdout == "ok\n"


def test_failure_names_host_command_exit_code_and_stderr(sshd):
    transport = SshTransport(target(sshd))
    with pytest.raises(CommandFailed) as caught:
        transport.run(["sh", "-c", "echo boom >&2; exit 7"])
    error = caught.value
    assert (error.host, error.exit_code) == ("node9", 7)
    assert "on node9: `sh -c 'echo boom >&2; exit 7'` exited 7: boom" in str(error)
    assert transport.run(["sh", "-c", "exit 3"], ok_rc=(0, 3)).exit_code == 3


def test_put_is_atomic_with_mode_and_stdin_not_argv(sshd, tmp_path):
    transport = SshTransport(target(sshd))
    path = tmp_path / "secret.conf"
    transport.put(str(path), b"password=s3cret\n", 0o600)
    assert path.read_bytes() == b"password=s3cret\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert transport.read(str(path)) == b"password=s3cret\n"
    assert transport.read(str(tmp_path / "missing")) is None
    assert not list(tmp_path.glob("*.hastack.*"))  # no temp file left behind
    binary = bytes(range(256)) * 2  # an authkey is random bytes: it must read back unchanged
    transport.put(str(tmp_path / "authkey"), binary, 0o400)
    assert transport.read(str(tmp_path / "authkey")) == binary
    transport.put(str(tmp_path / "fence-agent" / "key"), b"k", 0o600)  # a directory not made yet
    assert (tmp_path / "fence-agent" / "key").read_bytes() == b"k"


def test_one_connection_is_reused(sshd):
    transport = SshTransport.pooled(target(sshd))
    before = COUNTERS["connections"]
    for _ in range(5):
        transport.run(["true"])
    assert COUNTERS["connections"] - before <= 1
    assert SshTransport.pooled(target(sshd)) is transport


def test_unreachable_host_is_reported(sshd):
    with pytest.raises(HastackError, match="SSH_UNREACHABLE"):
        SshTransport(target(sshd, port=_free_port()), connect_timeout=2).run(["true"])


def test_connect_wait_rides_out_a_host_that_is_still_booting(sshd):
    """A guest VM answers SSH only after it boots: a port with nothing behind it yet is retried,
    and the command runs once sshd appears (a real listener started late, not a mock)."""
    late_port = _free_port()
    config = (sshd["dir"] / "sshd_config").read_text().replace(f"Port {sshd['port']}", f"Port {late_port}")
    late_config = sshd["dir"] / "sshd_late_config"
    late_config.write_text(config.replace("sshd.pid", "sshd_late.pid"))
    transport = SshTransport(target(sshd, port=late_port, connect_wait=30), connect_timeout=2)
    starter = subprocess.Popen(["sh", "-c", f"sleep 3; exec {shutil.which('sshd') or '/usr/sbin/sshd'} -D -e -f {late_config}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        assert transport.run(["echo", "booted"]).stdout == "booted\n"
        assert time.monotonic() - started >= 2.5
    finally:
        transport.close()
        starter.terminate()
        starter.wait(timeout=10)


def test_a_failed_handshake_is_tried_again_before_it_is_reported(sshd, monkeypatch):
    """A listener that accepts and hangs up at once (a real socket, as a host too busy to finish
    the handshake): tried 1 + HANDSHAKE_RETRIES times, then reported as SSH_CONNECT."""
    import threading

    from hastack.transport import ssh as ssh_module

    monkeypatch.setattr(ssh_module, "HANDSHAKE_PAUSE", 0.1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def hang_up():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        with pytest.raises(HastackError, match="SSH_CONNECT"):
            SshTransport(target(sshd, port=listener.getsockname()[1]), connect_timeout=2).run(["true"])
        assert len(accepted) == 1 + ssh_module.HANDSHAKE_RETRIES
    finally:
        listener.close()


def test_connect_wait_never_retries_a_wrong_host_key(sshd, tmp_path):
    other = " ".join(_keygen(tmp_path / "other").split()[:2])
    started = time.monotonic()
    with pytest.raises(HastackError, match="SSH_HOST_KEY_MISMATCH"):
        SshTransport(target(sshd, host_keys=(other,), connect_wait=60)).run(["true"])
    assert time.monotonic() - started < 10


def test_parallel_commands_share_one_connection_and_run_side_by_side(sshd):
    """Pulumi creates resources in parallel: a long command must not hold up the others."""
    import threading

    transport = SshTransport(target(sshd))
    transport.run(["true"])
    before = COUNTERS["connections"]
    started = time.monotonic()
    threads = [threading.Thread(target=transport.run, args=(["sleep", "2"],)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 4.5
    assert COUNTERS["connections"] == before
    transport.close()


def test_a_command_that_floods_stderr_before_stdout_does_not_stall(sshd):
    transport = SshTransport(target(sshd))
    result = transport.run(["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' e >&2; echo done"])
    assert result.stdout == "done\n" and len(result.stderr) == 5_000_000
    transport.close()


def test_a_host_that_stops_answering_ends_a_running_command(sshd):
    """A fenced host can leave the TCP connection open (a forward or NAT keeps it): the wait
    must end.  Here sshd itself is frozen (SIGSTOP): the running session goes on, but a fresh
    connection gets no banner, so the command fails as lost instead of waiting forever."""
    import os
    import signal

    port = _free_port()
    config = sshd["dir"] / "sshd_frozen_config"
    config.write_text((sshd["dir"] / "sshd_config").read_text()
                      .replace(f"Port {sshd['port']}", f"Port {port}").replace("sshd.pid", "sshd_frozen.pid"))
    daemon = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        transport = SshTransport(target(sshd, port=port))
        transport.silence_check = 2.0
        transport.run(["true"])
        os.kill(daemon.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(HastackError) as caught:
            transport.run(["sleep", "120"])
        assert caught.value.code == "SSH_LOST" and "sleep 120" in caught.value.message
        assert "may or may not have taken effect" in caught.value.message
        assert time.monotonic() - started < 90
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        daemon.terminate()
        daemon.wait(timeout=10)
