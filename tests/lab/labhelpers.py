"""Helpers for the live lab tests: the lab CLI, SSH with the pinned keys, waiting, measured times."""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from hastack.lab import lab as lab_mod
from hastack.lab.paths import REPO_ROOT, lab_dir
from hastack.lab.topology import host

TIMES_FILE = REPO_ROOT / "out" / "lab-times.json"
SESSION_START = time.monotonic()


# CI's clock (.ci/run sets HASTACK_DEADLINE, epoch seconds, when its job starts, so that set-up
# counts; HASTACK_TIME_BUDGET is seconds from this session's start): what would end past it is
# skipped or cut short, saying so, instead of the whole run being killed with nothing said.
def _deadline() -> float | None:
    if os.environ.get("HASTACK_DEADLINE"):
        return float(os.environ["HASTACK_DEADLINE"])
    budget = float(os.environ.get("HASTACK_TIME_BUDGET") or 0)
    return time.time() + budget if budget else None


DEADLINE = _deadline()


def time_left() -> float | None:
    return None if DEADLINE is None else DEADLINE - time.time()


def over_budget(expected_s: float, left: float | None) -> str | None:
    """Why a test expected to take EXPECTED_S must not start with LEFT seconds to the deadline."""
    if left is None or expected_s <= left:
        return None
    return (f"expected to take {expected_s:.0f} s, and {max(left, 0):.0f} s are left before CI's deadline "
            "(HASTACK_DEADLINE / HASTACK_TIME_BUDGET)")


def capped(timeout: float, margin: float = 60) -> float:
    """TIMEOUT, or less so that a command stopped by it still ends MARGIN seconds before the deadline."""
    left = time_left()
    return timeout if left is None else max(30.0, min(timeout, left - margin))


def _stderr_line(line: str) -> None:
    print(line, file=sys.__stderr__, flush=True)


# Where live progress goes: the terminal, past pytest's capture (conftest points it at pytest's
# terminal writer), so that a CI log cut off at its deadline still says what was running.
echo = _stderr_line


def progress(text: str) -> None:
    echo(f"[{time.monotonic() - SESSION_START:5.0f} s] {text}")


def run_streamed(argv: list[str], *, env=None, cwd=REPO_ROOT, timeout: float, show=lambda line: True,
                 label: str = "") -> subprocess.CompletedProcess:
    """subprocess.run(ARGV, capture_output=True, text=True, timeout=...), but each stdout line for
    which SHOW is true goes to `progress` as it comes."""
    import threading

    # Its own process group: a timeout ends the command's children too, which hold its output open.
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True)
    reader.start()
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if show(line):
                progress(f"{label}{line.rstrip()}")
        process.wait()
    finally:
        timer.cancel()
        reader.join(10)
    if expired.is_set():
        raise subprocess.TimeoutExpired(argv, timeout, output="".join(lines), stderr="".join(stderr))
    return subprocess.CompletedProcess(argv, process.returncode, "".join(lines), "".join(stderr))

# CI runs the main job (lab, `up`, its checks) and the three drills; what does not fit
# beside them in CI's 90 min runs with this one variable (README: "Tests").
FULL = os.environ.get("HASTACK_LIVE_FULL") == "1"


def full_only(minutes: str):
    return pytest.mark.skipif(not FULL, reason=f"beyond CI's 90 min ({minutes} here): set HASTACK_LIVE_FULL=1")


def lab_cli(*args: str, timeout: float = 1500, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "hastack", "lab", *args], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"lab {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def ssh(name: str, command: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Runs COMMAND on a lab host. With check=False a host that does not answer within TIMEOUT is
    a failed result (exit 255, as ssh's own connect failure), not an exception: callers probe
    whether a host is down or back."""
    # A loaded emulated host can take over 10 s to send its SSH banner (seen during `up`), but
    # the banner wait must end inside TIMEOUT: through the lab's port forward the TCP connect to
    # a powered-off guest succeeds and only the banner never comes.
    connect_timeout = max(5, min(60, int(timeout) // 2))
    argv = lab_mod.ssh_argv(lab_dir(), host(name), [command], connect_timeout=connect_timeout)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        if check:
            raise
        r = subprocess.CompletedProcess(argv, 255, _text(expired.stdout),
                                        _text(expired.stderr) + f"\n(no answer within {timeout:.0f} s)")
    if check and r.returncode != 0:
        raise AssertionError(f"{name}: {command!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


# The lab's hosts deny input by default (lab/image/files/etc/nftables.conf); on a bare lab no stack
# opens anything, so a test that needs a port between hosts opens it itself, tagged, and closes it.
# $1 the tag; with $2-$4 (sources, proto, port) the rule is (re)made, without them only removed.
TEST_RULE = r"""tag=$1
nft -a list chain inet filter input | sed -n "s/.* comment \"$tag\" # handle \([0-9]*\)\$/\1/p" |
  while read -r h; do nft delete rule inet filter input handle "$h"; done
[ $# -lt 4 ] || nft insert rule inet filter input ip saddr "{ $2 }" "$3" dport "$4" accept comment "\"$tag\""
"""


@contextmanager
def opened(port: int, hosts=("node1", "node2"), net: str = "stor1", proto: str = "tcp"):
    """PORT open on each of HOSTS from the others' NET address while the block runs, then closed
    (by its tag, so a rule an interrupted run left goes too)."""
    tag = f"hastack-lab-test {proto} {port}"
    try:
        for name in hosts:
            sources = ", ".join(host(other).address(net) for other in hosts if other != name)
            ssh(name, shlex.join(["sh", "-c", TEST_RULE, "sh", tag, sources, proto, str(port)]))
        yield
    finally:
        for name in hosts:
            ssh(name, shlex.join(["sh", "-c", TEST_RULE, "sh", tag]), check=False)


# A TCP listener (at most 300 s, its pid in /run) and one connect attempt, in the hosts' python3.
_LISTEN = ("nohup timeout 300 python3 -c 'import socket, sys, time\n"
           "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
           "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); time.sleep(300)' {addr} {port} "
           ">/dev/null 2>&1 & echo $! > /run/hastack-lab-listen-{port}.pid")
_CONNECT = "python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)' {addr} {port}"


def connects(name: str, addr: str, port: int) -> bool:
    """Does a TCP connect from host NAME to ADDR:PORT succeed within 5 s?"""
    return ssh(name, _CONNECT.format(addr=addr, port=port), check=False).returncode == 0


@contextmanager
def listening(name: str, addr: str, port: int):
    """A TCP listener on host NAME at ADDR:PORT while the block runs (answering NAME itself first)."""
    ssh(name, _LISTEN.format(addr=addr, port=port))
    try:
        wait_for(lambda: connects(name, addr, port), 30, 1, f"{name}'s listener on {addr}:{port}")
        yield
    finally:
        ssh(name, f'kill "$(cat /run/hastack-lab-listen-{port}.pid)"; rm -f /run/hastack-lab-listen-{port}.pid',
            check=False)


# What a bare-host test could leave on a hypervisor, one line each; a fresh lab prints nothing.
_LEFTOVERS = r"""lvs --noheadings -o lv_name "$1" 2>/dev/null | sed 's/^ */LV /'
ls /etc/drbd.d/*.res 2>/dev/null | sed 's/^/DRBD config /'
sed -n 's/^ *\([0-9]*\): cs:.*/DRBD minor \1/p' /proc/drbd 2>/dev/null
virsh list --all --name 2>/dev/null | sed '/^$/d; s/^/libvirt domain /'
semodule -l 2>/dev/null | sed -n 's/^\(hastack[^ ]*\).*/SELinux module \1/p'
getent passwd hastack-probe >/dev/null && echo 'account hastack-probe'
nft list chain inet filter input 2>/dev/null | grep -q hastack-lab-test && echo 'a test firewall rule'
true"""


def bare_host_leftovers() -> list[str]:
    """What the bare-host tests left on the hypervisors (LVs, DRBD, domains, modules, accounts,
    test firewall rules), as "node: thing"; the stack runs on these hosts only when there is none."""
    from hastack.config.load import load_stack

    volume_group = load_stack("lab").hypervisor.volume_group
    command = shlex.join(["sh", "-c", _LEFTOVERS, "sh", volume_group])
    return [f"{name}: {line}" for name in ("node1", "node2")
            for line in ssh(name, command).stdout.splitlines() if line.strip()]


def _text(output: bytes | str | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


# The cluster's own account of a run: the journal of the HA stack and libvirt, and crm_mon.
HOST_LOG_COMMAND = ("journalctl -b --no-pager -o short-precise -u corosync -u pacemaker -u libvirtd "
                    "-u drbd 2>&1 | tail -n 4000; echo '--- crm_mon'; crm_mon -1 -r 2>&1; "
                    "echo '--- /proc/drbd'; cat /proc/drbd 2>&1")


def save_host_logs(directory: Path) -> None:
    """Every host's log of the run into DIRECTORY; a host that does not answer is noted, not fatal."""
    from hastack.lab.topology import HOSTS

    directory.mkdir(parents=True, exist_ok=True)
    for h in HOSTS:
        try:
            r = ssh(h.name, HOST_LOG_COMMAND, timeout=180, check=False)
            (directory / f"{h.name}.log").write_text(r.stdout + r.stderr)
        except Exception as error:  # a host that is gone or hung must not hide the test's own result
            (directory / f"{h.name}.log").write_text(f"(no log: {error})\n")


def wait_on_host(name: str, condition: str, timeout: float, what: str, interval: float = 2.0) -> float:
    """Polls a shell condition on the host itself, in one SSH session: a new SSH login every
    second costs an emulated host more CPU (sshd, a logind session) than what is being waited for."""
    loop = (f"t0=$(date +%s); while ! {{ {condition}; }} >/dev/null 2>&1; do "
            f"[ $(( $(date +%s) - t0 )) -ge {int(timeout)} ] && exit 3; sleep {interval}; done; "
            "echo $(( $(date +%s) - t0 ))")
    r = ssh(name, loop, timeout=timeout + 120, check=False)
    if r.returncode != 0:
        raise AssertionError(f"{name}: timed out after {timeout:.0f} s waiting for {what} "
                             f"({r.returncode}: {r.stderr.strip()[-500:]})")
    return float(r.stdout.split()[-1])


def wait_for(predicate, timeout: float, interval: float = 2.0, what: str = "condition") -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Times:
    """Measured times, kept in out/lab-times.json (the README quotes them)."""

    def __setitem__(self, key: str, seconds: float) -> None:
        # Merged into the file: each live module (and the stack's session) measures its own part.
        values = json.loads(TIMES_FILE.read_text()) if TIMES_FILE.exists() else {}
        values[key] = round(seconds, 1)
        TIMES_FILE.parent.mkdir(exist_ok=True)
        TIMES_FILE.write_text(json.dumps(values, indent=1) + "\n")
