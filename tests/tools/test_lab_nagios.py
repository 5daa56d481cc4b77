"""The lab's Nagios server (hastack/lab/nagios.py) in a throwaway network namespace of this test's
own, holding the server's address and a guest's on a bridge: the stack's Nagios objects and the
nsca-ng authorization written over real SSH by the resources' own plans, refused files put back by
the real `nagios4 -v`, and the rendered alert agent's send_nsca results in Nagios's log.  Needs
root (namespaces, mounts) and the packages bin/setup unpacks (nagios4, nsca-ng-server, send_nsca)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unpacked import unpacked, unpacked_env  # noqa: E402

from hastack.apply import apply_live  # noqa: E402
from hastack.config.load import raw_config, stack_file, unseal, validate  # noqa: E402
from hastack.lab import nagios as lab_nagios  # noqa: E402
from hastack.lab.topology import NAGIOS_ADDRESS  # noqa: E402
from hastack.render.alert_agent import render_alert_agent, render_nsca_authorize, render_send_nsca_config  # noqa: E402
from hastack.render.nagios import nagios_file_sets  # noqa: E402
from hastack.reports import HastackError  # noqa: E402
from hastack.resources import nagios_objects, remote_file  # noqa: E402
from hastack.transport import node_transports  # noqa: E402

pytestmark = [pytest.mark.tools, pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and mounts need root")]
PASSWORD = "tools-test-nsca-7"
GUEST = "10.77.0.53"
OBJECTS_DIR = "/etc/nagios4/conf.d/hastack"
NETWORK = f"""
ip link set lo up && ip link add br-mgmt type bridge && ip link set br-mgmt up &&
ip addr add {NAGIOS_ADDRESS}/24 dev br-mgmt && ip addr add {GUEST}/24 dev br-mgmt && exec sleep infinity
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(lab dir, anchor pid, SSH node ref, transports) of a running lab Nagios server."""
    for needed in lab_nagios.NEEDED + ("usr/sbin/send_nsca",):
        unpacked(needed)
    lab = tmp_path_factory.mktemp("lab")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(lab / "id_ed25519")], check=True)
    anchor = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", NETWORK])
    time.sleep(0.5)
    host_pub = lab_nagios.write_files(lab, (lab / "id_ed25519.pub").read_text().strip())
    port = free_port()
    (lab / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_pub.split()[:2])}\n")
    supervisor = subprocess.Popen([sys.executable, "-m", "hastack.lab.nagios", str(lab), str(anchor.pid), str(port)],
                                  stdout=open(lab / "supervisor.log", "wb"), stderr=subprocess.STDOUT,
                                  cwd=Path(__file__).resolve().parents[2])
    ref = {"name": "nagios-server", "ssh": {"host": "127.0.0.1", "port": port, "known_hosts_file": str(lab / "known_hosts"),
                                             "key_file": str(lab / "id_ed25519"), "connect_wait": 60}}
    transports = node_transports([SimpleNamespace(**ref)])
    try:
        transports("nagios-server").run(["true"])
        yield SimpleNamespace(lab=lab, anchor=anchor.pid, ref=ref, transports=transports)
    finally:
        supervisor.terminate()
        supervisor.wait(timeout=30)
        anchor.kill()
        anchor.wait()
    # nothing of the server is left running: its daemons died with the supervisor
    time.sleep(1)
    left = [p for p in os.listdir("/proc") if p.isdigit() and str(lab) in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
    assert left == [], left


@pytest.fixture(scope="module")
def config(root):
    raw = unseal(raw_config(stack_file("lab", root)))
    raw["monitoring"] = {"enabled": True, "nagios": {"address": NAGIOS_ADDRESS},
                         "nsca": {"identity": "hastack-lab", "password": PASSWORD}}
    return validate(raw, "Pulumi.lab.yaml + monitoring")


def objects_props(server, files: dict[str, str]) -> nagios_objects.NagiosObjectsProps:
    return nagios_objects.NagiosObjectsProps(
        layer="monitoring", nodes=[server.ref], objects_dir=OBJECTS_DIR, files=files,
        verify_argv=("nagios4", "-v", "/etc/nagios4/nagios.cfg"), reload_argv=("hastack-lab-service", "reload", "nagios4"))


def nagios_log(server) -> str:
    return (server.lab / "nagios" / "upper" / "var" / "log" / "nagios4" / "nagios.log").read_text(errors="replace")


def wait_for(predicate, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(1)
    return False


@pytest.fixture(scope="module")
def deployed(server, config):
    """The stack's side of the server, applied by the resources' plans over SSH."""
    authorize = remote_file.RemoteFileProps(
        layer="monitoring", nodes=[server.ref], path="/etc/nsca-ng/nsca-ng.local.cfg", mode=0o640, owner="root:nagios",
        secret=True, content=render_nsca_authorize("hastack-lab", PASSWORD, ("lab", "pgcluster")),
        then_argv=("hastack-lab-service", "reload", "nsca-ng"))
    apply_live(remote_file.plan_create(authorize), server.transports)
    for file_set in nagios_file_sets(config):  # the command first: the feeds refer to it
        apply_live(nagios_objects.plan_create(objects_props(server, file_set.files)), server.transports)
    return authorize


def test_the_stacks_objects_and_authorization_go_onto_the_server_and_nagios_knows_the_guests(server, deployed):
    live = remote_file.observe(deployed, server.transports)
    assert remote_file.drifted(deployed, live) == () and live.files["nagios-server"].sha256 is None
    assert live.files["nagios-server"].owner == "root:nagios" and live.files["nagios-server"].mode == 0o640
    assert wait_for(lambda: "Caught SIGHUP, restarting" in nagios_log(server))
    listed = server.transports("nagios-server").run(["ls", OBJECTS_DIR]).stdout.split()
    assert listed == ["cluster-lab.cfg", "cluster-pgcluster.cfg", "hastack-passive-only.cfg", "pg1.cfg", "pg2.cfg"]
    # nothing of it reached this machine's own /etc: the server's writes land in the lab directory
    assert not Path(OBJECTS_DIR).exists()
    assert (server.lab / "nagios" / "upper" / "etc" / "nagios4" / "conf.d" / "hastack" / "pg1.cfg").is_file()


def test_a_file_nagios_refuses_is_put_back_and_nagios_keeps_running(server, config, deployed):
    pg1 = next(fs for fs in nagios_file_sets(config) if fs.key == "pg1")
    good = objects_props(server, pg1.files)
    apply_live(nagios_objects.plan_create(good), server.transports)
    broken = objects_props(server, {"pg1.cfg": pg1.files["pg1.cfg"].replace("check_nrpe!check_disk", "no_such_command")})
    with pytest.raises(HastackError) as caught:
        apply_live(nagios_objects.plan_update(good, broken, None), server.transports)
    assert "Nagios refused the configuration with pg1.cfg" in str(caught.value)
    assert "no_such_command" in str(caught.value)  # Nagios's own error line
    back = server.transports("nagios-server").run(["cat", f"{OBJECTS_DIR}/pg1.cfg"]).stdout
    assert back == pg1.files["pg1.cfg"]
    verify = server.transports("nagios-server").run(["nagios4", "-v", "/etc/nagios4/nagios.cfg"])
    assert "Total Errors:   0" in verify.stdout


@pytest.mark.parametrize("event,expected", [
    ({"CRM_alert_kind": "node", "CRM_alert_node": "pg1", "CRM_alert_desc": "lost"},
     "PROCESS_SERVICE_CHECK_RESULT;pgcluster;Pacemaker events;2;node pg1 lost from the cluster (from "),
    ({"CRM_alert_kind": "fencing", "CRM_alert_node": "pg2", "CRM_alert_task": "reboot", "CRM_alert_rc": "0",
      "CRM_alert_desc": "OK"}, "PROCESS_SERVICE_CHECK_RESULT;pgcluster;Pacemaker events;1;node pg2 fenced (reboot): OK"),
])
def test_the_alert_agent_reaches_nagios_through_nsca_ng_as_a_passive_result(server, deployed, tmp_path, event, expected):
    """The rendered agent run as Pacemaker would (its CRM_alert_* variables), from the guest's address
    in the namespace, with the rendered client config: its result is in Nagios's log within seconds."""
    agent, client = tmp_path / "alert_nsca.sh", tmp_path / "alert_nsca.cfg"
    agent.write_text(render_alert_agent("pgcluster").replace("CONFIG=/etc/pacemaker/alert_nsca.cfg", f"CONFIG={client}"))
    agent.chmod(0o755)
    client.write_text(render_send_nsca_config(NAGIOS_ADDRESS, "hastack-lab", PASSWORD))
    client.chmod(0o600)
    before = nagios_log(server).count(expected)
    env = dict(unpacked_env(), PATH=f"{unpacked('usr/sbin')}:{os.environ['PATH']}", **event)
    sent = subprocess.run(["nsenter", f"--net=/proc/{server.anchor}/ns/net", "--", str(agent)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    assert wait_for(lambda: nagios_log(server).count(expected) > before, timeout=30), nagios_log(server)[-2000:]
