"""DRBD's own fence handlers against the CIB hastack renders, after the loss of a hypervisor.

`crm-fence-peer.sh` and `crm-unfence-peer.sh` (drbd-utils, the scripts the hosts run) act on a CIB
file through `CIB_file`, exactly as on a node.  They run as the survivor would run them: in a UTS
namespace whose host name is the survivor's `uname -n`, with a /proc/drbd of that moment (a tmpfs
over /proc in a private mount namespace; the handlers read nothing else there).  The scheduler
(crm_simulate) then says whether the survivor may still promote and start the VM.

The short-name case is the outage found on the lab (issue 13): Pacemaker nodes named `node1`,
hosts named `node1.<domain>`; the handler's `#uname ne <uname -n>` rule then bans every node.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hastack.facts.status import running_on  # noqa: E402
from hastack.layout import drbd_primitive_id  # noqa: E402
from hastack.simulate import Simulation  # noqa: E402

pytestmark = [pytest.mark.tools,
              pytest.mark.skipif(os.geteuid() != 0, reason="UTS and mount namespaces need root"),
              pytest.mark.skipif(not Path("/usr/lib/drbd/crm-fence-peer.sh").exists(), reason="drbd-utils missing")]

HANDLERS = Path("/usr/lib/drbd")
VM, MINOR = "pg1", 4  # lab5's pg1: its DRBD minor, primary on node1 until node1 is lost
LOST_PRIMARY = f" {MINOR}: cs:WFConnection ro:Secondary/Unknown ds:UpToDate/DUnknown C r-----\n"
RESYNCED = f" {MINOR}: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n"
AS_HOST = ('hostname "$1"; mount -t tmpfs proc-stand-in /proc && printf %s "$2" > /proc/drbd || exit 99; '
           'shift 2; exec "$@"')


def run_handler(name: str, cib: Path, host: str, peer: str, proc_drbd: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CIB_file": str(cib), "DRBD_RESOURCE": VM,
           "DRBD_PEER": peer, "DRBD_MINOR": str(MINOR)}
    # bash -x: the handler then writes its trace to stderr instead of syslog.
    return subprocess.run(["unshare", "--uts", "--mount", "--fork", "sh", "-c", AS_HOST, "sh", host,
                           "version: 8.4.11\n" + proc_drbd, "bash", "-x", str(HANDLERS / name),
                           "--timeout=10", "--dc-timeout=5"], env=env, capture_output=True, text=True, timeout=120)


def node1_lost(cib_xml: str, config, names: tuple[str, str]) -> Simulation:
    """Both nodes up with every VM home, then node1 lost and fenced (its node_state says so)."""
    n1, n2 = names
    sim = Simulation(cib_xml)
    sim.step("-u", n1, "-u", n2)
    sim.set_attributes({n: {f"master-{drbd_primitive_id(v.name)}": "10000" for v in config.vms} for n in names})
    sim.settle()
    assert running_on(sim.status(), f"{VM}-vm") == [n1]
    sim.step("--node-fail", n1)
    assert running_on(sim.status(), f"{VM}-vm") == [n2]
    return sim


def survivor_runs_vm(sim: Simulation, survivor: str) -> bool:
    """The scheduler's next transitions with the handler's constraint in place.  (crm_simulate's
    node-fail transition already fenced node1 and moved the VM: the constraint must let it stay.)"""
    sim.set_attributes({survivor: {f"master-{drbd_primitive_id(VM)}": "10000"}})
    sim.settle()
    status = sim.status()
    return (running_on(status, drbd_primitive_id(VM), "Promoted") == [survivor]
            and running_on(status, f"{VM}-vm") == [survivor])


def handler_constraint(cib_text: str) -> str | None:
    marker = f'id="drbd-fence-by-handler-{VM}-expr-{drbd_primitive_id(VM)}-clone"'
    line = next((ln for ln in cib_text.splitlines() if marker in ln), None)
    return None if line is None else line.split('value="', 1)[1].split('"', 1)[0]


def test_the_fence_handler_leaves_the_survivor_promotable_and_the_unfence_removes_its_constraint(
        lab5_render, lab5_config):
    hv = lab5_config.hypervisor
    n1, n2 = (n.pacemaker_name for n in hv.nodes)
    assert (n1, n2) == tuple(n.fqdn for n in hv.nodes)  # one name per node: `uname -n`
    sim = node1_lost((lab5_render / "hypervisor/cib.xml").read_text(), lab5_config, (n1, n2))

    fenced = run_handler("crm-fence-peer.sh", sim.path, host=n2, peer=n1, proc_drbd=LOST_PRIMARY)
    assert fenced.returncode == 7, fenced.stderr[-3000:]  # "peer was STONITHed"
    assert handler_constraint(sim.path.read_text()) == n2
    assert survivor_runs_vm(sim, n2)

    # node1 is back and resynced: the after-resync-target handler lifts the constraint.
    unfenced = run_handler("crm-unfence-peer.sh", sim.path, host=n2, peer=n1, proc_drbd=RESYNCED)
    assert unfenced.returncode == 0, unfenced.stderr[-3000:]
    assert handler_constraint(sim.path.read_text()) is None
    sim.close()


def test_short_pacemaker_names_on_fqdn_hosts_ban_promotion_on_the_survivor_too(lab5_render, lab5_config):
    """What hastack built before: the same handler run makes the survivor unable to promote."""
    hv = lab5_config.hypervisor
    fqdn = tuple(n.fqdn for n in hv.nodes)
    short = tuple(n.name for n in hv.nodes)
    cib_xml = (lab5_render / "hypervisor/cib.xml").read_text()
    for long_name, short_name in zip(fqdn, short):
        cib_xml = cib_xml.replace(f'"{long_name}"', f'"{short_name}"')
    sim = node1_lost(cib_xml, lab5_config, short)

    fenced = run_handler("crm-fence-peer.sh", sim.path, host=fqdn[1], peer=fqdn[0], proc_drbd=LOST_PRIMARY)
    assert handler_constraint(sim.path.read_text()) == fqdn[1], fenced.stderr[-3000:]
    assert not survivor_runs_vm(sim, short[1])
    sim.close()
