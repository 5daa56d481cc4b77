"""Bring the lab up, take it down, report on it. Orchestration only: the pieces live in
netns (namespace, bridges, taps), qemu (VMs), bmc (ipmi_sim), relay (guest power), nagios (the
monitoring server), seed (identity), inventory (what the rest of hastack reads) and image (the
cached disk image)."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hastack.lab import bmc, image, inventory, nagios, netns, qemu, relay, seed
from hastack.lab.paths import REPO_ROOT, lab_dir
from hastack.lab.topology import (
    BMC_PASSWORD, HOSTS, NAGIOS_ADDRESS, NAGIOS_SSH_PORT, NETWORKS, Host, hypervisors, tap_name,
)
from hastack.lab.topology import host as find_host

SSH_WAIT_SECONDS = 600


def log(msg: str) -> None:
    print(f"[lab {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- state -------------------------------------------------------------------------------

def state_path(lab: Path) -> Path:
    return lab / "state.json"


def load_state(lab: Path) -> dict:
    try:
        return json.loads(state_path(lab).read_text())
    except (OSError, ValueError):
        return {}


def save_state(lab: Path, state: dict) -> None:
    state_path(lab).write_text(json.dumps(state, indent=1))


def host_files(lab: Path, h: Host) -> qemu.HostFiles:
    return qemu.HostFiles(lab / "hosts" / h.name)


def cmdline(pid: int) -> list[str]:
    try:
        return [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return []


def owned(pid: int | None, lab: Path) -> bool:
    """True only if PID is alive and its command line names this lab's directory."""
    return bool(pid) and any(str(lab) in a for a in cmdline(pid))


def anchor_alive(state: dict) -> bool:
    pid = state.get("anchor")
    try:
        return bool(pid) and netns.netns_inode(pid) == state.get("netns_ino")
    except OSError:
        return False


def is_running(lab: Path, state: dict) -> bool:
    return (anchor_alive(state) and owned(state.get("relay"), lab)
            and all(owned(p, lab) for p in state.get("bmc", {}).values())
            and len(state.get("bmc", {})) == len(hypervisors())
            and (not state.get("nagios") or owned(state["nagios"], lab))
            and all(qemu.pid(host_files(lab, h)) for h in HOSTS))


# ---- ssh ---------------------------------------------------------------------------------

def ssh_argv(lab: Path, h: Host, command: list[str], batch: bool = True, connect_timeout: int = 10) -> list[str]:
    argv = ["ssh", "-i", str(lab / "id_ed25519"), "-p", str(h.ssh_port),
            "-o", f"UserKnownHostsFile={lab / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", f"ConnectTimeout={connect_timeout}", "-o", "LogLevel=ERROR"]
    if batch:
        argv += ["-o", "BatchMode=yes"]
    return argv + ["root@127.0.0.1", *command]


def ssh_ok(lab: Path, h: Host) -> bool:
    try:
        return subprocess.run(ssh_argv(lab, h, ["true"], connect_timeout=5), capture_output=True,
                              timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def wait_ssh(lab: Path, hosts: list[Host], t0: float, timeout: float = SSH_WAIT_SECONDS) -> dict[str, float]:
    pending = {h.name: h for h in hosts}
    ready: dict[str, float] = {}
    last_note = 0.0
    while pending and time.monotonic() - t0 < timeout:
        for name, h in list(pending.items()):
            if ssh_ok(lab, h):
                ready[name] = time.monotonic() - t0
                del pending[name]
                log(f"{name}: answers SSH on 127.0.0.1:{h.ssh_port} after {ready[name]:.0f} s")
        if pending and time.monotonic() - last_note > 20:
            last_note = time.monotonic()
            log(f"waiting for SSH: {', '.join(sorted(pending))} ({time.monotonic() - t0:.0f} s)")
        if pending:
            time.sleep(2)
    if pending:
        raise RuntimeError(f"no SSH from {', '.join(sorted(pending))} after {timeout:.0f} s "
                           f"(consoles: {lab}/hosts/*/console.log)")
    return ready


# Every lab link configured by networkd.  Under load networkd's netlink calls can time out at
# boot and leave a NIC outside its bridge for good; a networkd restart re-creates the state from
# its files.  Only the lab's own links count ($@; libvirt's vnet taps stay "unmanaged"), and only
# a host that just booted is restarted: on a running cluster node it drops the corosync rings.
# The wait is bounded by the clock, not by a count of polls: on an emulated host that is still
# booting one poll can take seconds.
NETWORK_SETTLED = r"""
may_restart=$1; shift
start=$(date +%s); elapsed=0; restarts=0
while :; do
  configured=" $(networkctl list --no-pager --no-legend 2>/dev/null | awk '$5 == "configured" { printf "%s ", $2 }')"
  stuck=
  for link in "$@"; do
    case "$configured" in *" $link "*) ;; *) stuck="$stuck $link" ;; esac
  done
  [ -z "$stuck" ] && exit 0
  elapsed=$(( $(date +%s) - start ))
  [ "$elapsed" -ge 150 ] && break
  if [ "$may_restart" = yes ] && [ "$restarts" -lt 2 ] && [ "$elapsed" -ge $(( 20 + 40 * restarts )) ]; then
    restarts=$(( restarts + 1 ))
    echo "restarting systemd-networkd after ${elapsed} s: not configured:$stuck" >&2
    timeout 60 systemctl restart systemd-networkd
  fi
  sleep 2
done
echo "links not configured after ${elapsed} s:$stuck" >&2
exit 1
"""


def wait_networks(lab: Path, hosts: list[Host], just_booted: bool) -> None:
    """NETWORK_SETTLED on every host, all hosts at once (one SSH each; measured: one after the
    other they added ~5 min to `lab up`).  Lab tuning (pcsd off, machine.slice CPUWeight) is in the
    image, where it costs no daemon-reload on a busy host."""
    def one(h: Host) -> subprocess.CompletedProcess:
        argv = ["sh", "-c", shlex.quote(NETWORK_SETTLED), "settled", "yes" if just_booted else "no",
                *seed.lab_links(h)]
        # A busy emulated host can take more than 10 s to send its banner: allow a minute.
        try:
            return subprocess.run(ssh_argv(lab, h, argv, connect_timeout=60), capture_output=True, text=True,
                                  timeout=300)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", "no answer within 300 s (the host may be hung; "
                                               f"its console: {lab}/hosts/{h.name}/console.log)")

    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        results = list(pool.map(one, hosts))
    for h, r in zip(hosts, results):
        for line in r.stderr.splitlines():
            log(f"{h.name}: {line}")
        if r.returncode != 0:
            raise RuntimeError(f"{h.name}: lab networks not configured ({r.stderr.strip()})")


# ---- up ----------------------------------------------------------------------------------

def check_socket_paths(lab: Path) -> None:
    longest = max(len(str(lab / "hosts" / h.name / "qmp.sock")) for h in HOSTS)
    if longest > 100:  # unix socket paths are limited to 108 bytes
        raise RuntimeError(f"lab directory path too long for unix sockets: {lab}")


def start_daemon(argv: list[str], logfile: Path) -> int:
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=REPO_ROOT,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, start_new_session=True)
    return proc.pid


def up() -> int:
    lab = lab_dir()
    state = load_state(lab)
    if state and is_running(lab, state):
        # Hosts powered off on purpose (a fence, a destroyed domain) stay off: wait for the rest.
        on = [h for h in HOSTS if qemu.status(host_files(lab, h)) == "on"]
        log(f"lab already running ({lab}); checking SSH on {', '.join(h.name for h in on) or 'no host'}")
        wait_ssh(lab, on, time.monotonic())
        wait_networks(lab, on, just_booted=False)
        print_status(lab)
        return 0
    if lab.exists():
        log("found a partial lab: taking it down first")
        down(quiet=True)
    img = image.ensure_image(log=lambda m: log(m))
    t0 = time.monotonic()
    lab.mkdir(parents=True)
    check_socket_paths(lab)
    operator_pub = seed.ensure_key(lab / "id_ed25519", "hastack-lab operator")

    anchor = netns.start_anchor(lab / "anchor.log")
    # lab_id: a new one per created lab, so a stack's state can tell which lab it was built on.
    state = {"anchor": anchor, "netns_ino": netns.netns_inode(anchor), "bmc": {}, "lab_id": uuid.uuid4().hex}
    save_state(lab, state)
    netns.run_in_ns(anchor, netns.setup_commands())
    log("lab namespace, bridges and taps ready")

    relay.relay_dir(lab).mkdir()
    relay.write_placement(lab, {h.name: h.preferred_hypervisor for h in HOSTS if h.preferred_hypervisor})
    state["relay"] = start_daemon([sys.executable, "-m", "hastack.lab.relay", str(lab)], relay.relay_dir(lab) / "daemon.log")
    save_state(lab, state)
    for _ in range(100):
        if all(relay.socket_path(lab, hv.name).exists() for hv in hypervisors()):
            break
        time.sleep(0.05)

    pubkeys = {}
    for h in HOSTS:
        files = host_files(lab, h)
        files.dir.mkdir(parents=True)
        subprocess.run(qemu.overlay_argv(img.disk, files.root), check=True)
        subprocess.run(qemu.blank_disk_argv(files.data, h.data_disk_gib), check=True)
        key = files.dir / "ssh_host_ed25519_key"
        pubkeys[h.name] = seed.ensure_key(key, f"hastack-lab {h.name}")
        seed.write_seed(h, files.seed_dir, key, operator_pub)
        seed.build_seed_image(files.seed_dir, files.seed)
        fds = {net: netns.open_tap(anchor, tap_name(h, net)) for net in NETWORKS}
        try:
            relay_sock = relay.socket_path(lab, h.name) if h.is_hypervisor else None
            argv = qemu.qemu_argv(h, files, img.kernel, img.initrd, seed.machine_id(files.machine_id), fds, relay_sock)
            qemu.start(argv, fds, files.log)
        finally:
            for fd in fds.values():
                os.close(fd)
        if (p := qemu.pid(files)) is not None:
            qemu.raise_autogroup(p)
        log(f"{h.name}: started ({h.role}, {h.memory_mib} MiB, ssh 127.0.0.1:{h.ssh_port})")
    missing = nagios.missing_packages()
    if missing:  # the lab runs without it; a stack with hastack:monitoring on cannot reach it
        log(f"no lab Nagios: {', '.join(missing)} not unpacked (bin/setup unpacks setup/apt-unpacked.txt)")
    else:
        pubkeys[inventory.NAGIOS] = nagios.write_files(lab, operator_pub)
    inventory.write(lab, pubkeys)

    for h in hypervisors():
        d = bmc.write_config(lab, h)
        state["bmc"][h.name] = start_daemon(netns.in_ns(anchor, bmc.ipmi_sim_argv(lab, h)), d / "ipmi_sim.log")
        save_state(lab, state)
    log(f"BMCs started: {', '.join(f'{h.name} {h.bmc_address}' for h in hypervisors())}")
    if not missing:
        state["nagios"] = start_daemon([sys.executable, "-m", "hastack.lab.nagios", str(lab), str(anchor)],
                                       nagios.nagios_dir(lab) / "supervisor.log")
        save_state(lab, state)
        log(f"Nagios started: {NAGIOS_ADDRESS} (ssh 127.0.0.1:{NAGIOS_SSH_PORT})")
    times = wait_ssh(lab, list(HOSTS), t0)
    wait_networks(lab, list(HOSTS), just_booted=True)
    state["boot_seconds"] = times
    save_state(lab, state)
    log(f"lab up in {time.monotonic() - t0:.0f} s (inventory {lab / 'inventory.json'})")
    return 0


# ---- down --------------------------------------------------------------------------------

def start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat): tells a pid from its reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def stop_pids(pids: list[int], timeout: float = 5.0) -> None:
    """SIGTERM all, wait together, SIGKILL whichever of the same processes is left."""
    procs = {p: t for p in pids if (t := start_time(p))}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p, t in procs.items():
            if start_time(p) == t:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + timeout
        while time.monotonic() < end and any(start_time(p) == t for p, t in procs.items()):
            time.sleep(0.05)


def lab_processes(lab: Path) -> list[int]:
    """Every process whose command line names this lab's directory (never matched by name)."""
    me = os.getpid()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != me and owned(int(entry.name), lab):
            pids.append(int(entry.name))
    return pids


def down(quiet: bool = False) -> int:
    lab = lab_dir()
    state = load_state(lab)
    pids = [p for p in (qemu.pid(host_files(lab, h)) for h in HOSTS) if p]
    pids += [p for p in [*state.get("bmc", {}).values(), state.get("relay"), state.get("nagios")] if owned(p, lab)]
    stop_pids(pids)
    stop_pids(lab_processes(lab))  # anything left over from an interrupted up
    if anchor_alive(state):
        netns.run_in_ns(state["anchor"], netns.teardown_commands(), check=False)
        stop_pids([state["anchor"]])
    if lab.exists():
        shutil.rmtree(lab)
    if not quiet:
        log("lab down: processes stopped, namespace gone, state removed")
    return 0


# ---- status, power -----------------------------------------------------------------------

def print_status(lab: Path) -> None:
    state = load_state(lab)
    if not state:
        print("lab: not running")
        return
    print(f"lab: {lab}  namespace {'up' if anchor_alive(state) else 'GONE'}  "
          f"relay {'up' if owned(state.get('relay'), lab) else 'DOWN'}")
    print(f"{'host':<6} {'role':<10} {'ssh':<16} {'power':<7} bmc")
    for h in HOSTS:
        files = host_files(lab, h)
        power = "post" if files.posting.exists() else qemu.status(files)  # its BMC's self-test model
        b = "-"
        if h.bmc_address:
            b = f"{h.bmc_address} ({'up' if owned(state.get('bmc', {}).get(h.name), lab) else 'DOWN'})"
        print(f"{h.name:<6} {h.role:<10} 127.0.0.1:{h.ssh_port:<6} {power:<7} {b}")
    if state.get("nagios"):
        print(f"{'nagios':<6} {'monitoring':<10} 127.0.0.1:{NAGIOS_SSH_PORT:<6} "
              f"{'up' if owned(state['nagios'], lab) else 'DOWN':<7} {NAGIOS_ADDRESS}")


def lab_id() -> int:
    """Prints the running lab's id (made when the lab was created); fails when no lab runs."""
    state = load_state(lab_dir())
    if not state.get("lab_id"):
        print("lab: not running (or created before lab ids)", file=sys.stderr)
        return 1
    print(state["lab_id"])
    return 0


def status() -> int:
    print_status(lab_dir())
    return 0


def power(name: str, action: str) -> int:
    lab = lab_dir()
    state = load_state(lab)
    h = find_host(name)
    if h.is_hypervisor:
        if not anchor_alive(state):
            print("lab: not running", file=sys.stderr)
            return 1
        # ipmitool runs inside the lab namespace: the host namespace has no route to the BMC.
        argv = netns.in_ns(state["anchor"], bmc.ipmitool_argv(h, "chassis", "power", action))
        return subprocess.run(argv, env={**os.environ, "IPMI_PASSWORD": BMC_PASSWORD}).returncode
    # Guests have no BMC (their power follows their libvirt domain); act on qemu directly.
    files = host_files(lab, h)
    if action == "status":
        print(f"Chassis Power is {qemu.status(files)}")
    elif action == "on":
        qemu.power_on(files)
    elif action == "off":
        qemu.power_off(files)
    elif action == "cycle":
        qemu.power_off(files)
        qemu.power_on(files)
    return 0


def ssh(name: str, command: list[str]) -> int:
    lab = lab_dir()
    # A host busy with a Pacemaker transition can take over 10 s to send its banner.
    argv = ssh_argv(lab, find_host(name), command, batch=bool(command), connect_timeout=60)
    if not command:
        argv.insert(1, "-t")
    os.execvp(argv[0], argv)
    return 1
