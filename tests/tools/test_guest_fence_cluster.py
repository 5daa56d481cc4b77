"""The guest fence agent after the loss of a hypervisor, judged by the hypervisor cluster's own view.

The agent and the fence account's forced command are the rendered lab5 scripts, run for real in
bash.  The survivor's cluster state is a CIB file advanced by crm_simulate, and `sudo crm_mon` is
the real crm_mon reading it (`CIB_file`), run only if the rendered sudoers permits that exact
command line.  `ssh` is a stand-in that runs the forced command as sshd would, or fails as an
unreachable host does (a powered-off hypervisor cannot be had offline); `virsh` is a stand-in that
lists the domains the test says are running.
"""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_drbd_fence_handler import node1_lost  # noqa: E402

from hastack.layout import guest_fence_hypervisors, guest_node_to_vm  # noqa: E402
from hastack.render.guest_fence import render_fence_agent, render_fence_vm_wrapper, render_sudoers  # noqa: E402

pytestmark = pytest.mark.tools

FAKE_SUDO = """#!/bin/bash
[[ "$1" == -n ]] || exit 1
shift
grep -qxF -- "$*" "$PERMITTED" || { echo "sudo: not permitted: $*" >&2; exit 1; }
case "$1" in
  /usr/bin/virsh) [[ "$2" == list ]] && printf '%s\\n' $RUNNING
                  [[ "$2" == destroy ]] && echo "virsh destroy $3" >> "$CALLS"; exit 0 ;;
  /usr/sbin/crm_mon) shift; exec crm_mon "$@" ;;
esac
exit 1
"""

FAKE_SSH = """#!/bin/bash
target="${@: -2:1}"; command="${@: -1}"; address="${target#*@}"
echo "$address $command" >> "$CALLS"
if [[ " $UNREACHABLE " == *" $address "* ]]; then
    echo "ssh: connect to host $address port 22: Connection timed out" >&2; exit 255
fi
SSH_ORIGINAL_COMMAND="$command" exec bash "$WRAPPER"
"""


@pytest.fixture()
def fence(tmp_path: Path, lab5_render, lab5_config):
    """Runs the lab5 guest agent against node2's cluster (the CIB file) with node1 unreachable."""
    guest = lab5_config.guest
    node_to_vm = guest_node_to_vm(lab5_config)
    hypervisors = guest_fence_hypervisors(lab5_config)
    domains = sorted(node_to_vm.values())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sudo", FAKE_SUDO), ("ssh", FAKE_SSH)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    permitted = tmp_path / "permitted"
    sudoers = render_sudoers(guest.fencing.account, domains).splitlines()[-1]
    permitted.write_text("\n".join(c.strip() for c in sudoers.split("NOPASSWD:", 1)[1].split(",")) + "\n")
    (tmp_path / "fence-vm").write_text(render_fence_vm_wrapper(domains))
    agent = tmp_path / guest.fencing.agent
    agent.write_text(render_fence_agent(guest.fencing.agent, node_to_vm, hypervisors, guest.fencing.account))
    n1, n2 = (n.pacemaker_name for n in lab5_config.hypervisor.nodes)
    node1_address = next(a for a, name in hypervisors.items() if name == n1)
    target = next(node for node, vm in node_to_vm.items() if vm == "pg1")
    sim = node1_lost_unclean(lab5_render, lab5_config, (n1, n2))

    def call(running_on_node2: str = "") -> tuple[int, str, list[str]]:
        calls = tmp_path / "calls"
        calls.write_text("")
        env = dict(os.environ, PATH=f"{bin_dir}:/usr/sbin:/usr/bin:/bin", CALLS=str(calls), CIB_file=str(sim.path),
                   PERMITTED=str(permitted), RUNNING=running_on_node2, UNREACHABLE=node1_address,
                   WRAPPER=str(tmp_path / "fence-vm"))
        p = subprocess.run(["bash", str(agent)], input=f"action=reboot\nnodename={target}\n", env=env,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr, calls.read_text().splitlines()

    call.sim, call.node1 = sim, n1
    yield call
    sim.close()


def node1_lost_unclean(lab5_render, lab5_config, names):
    """node2's view: node1 gone from the membership while expected up, not yet fenced.

    `sim.fenced_xml` is its view once crm_simulate's transition has fenced node1."""
    sim = node1_lost((lab5_render / "hypervisor/cib.xml").read_text(), lab5_config, names)
    sim.fenced_xml = as_seen_by(sim.path.read_text(), dc=names[1])
    sim.path.write_text(as_seen_by(sim.fenced_xml, dc=names[1], lost=names[0]))
    return sim


def as_seen_by(cib_xml: str, dc: str, lost: str | None = None) -> str:
    """A live node's CIB names its DC (crm_mon reports quorum only with one); `lost` left unfenced."""
    root = ET.fromstring(cib_xml)
    root.set("dc-uuid", dc)
    for state in root.find("status").findall("node_state"):
        if state.get("uname") == lost:
            state.attrib.update({"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "member"})
    return ET.tostring(root, encoding="unicode")


def crm(sim, *argv: str) -> None:
    subprocess.run(list(argv), env=dict(os.environ, CIB_file=str(sim.path)), check=True, capture_output=True)


def test_node1_unclean_and_unreachable_fails_the_fence(fence):
    assert 'unclean="true"' in fence.sim.status_xml()
    code, out, calls = fence()
    assert code == 1 and "neither answered nor is known down" in out, out
    assert not any("destroy" in c for c in calls)


def test_node1_fenced_by_its_peer_confirms_the_vm_absent_without_a_kill(fence):
    fence.sim.path.write_text(fence.sim.fenced_xml)  # crm_simulate's node-fail fenced node1
    code, out, calls = fence()
    assert code == 0 and "confirmed absent from all 2 hypervisors" in out, out
    assert f"its cluster peer reports {fence.node1} offline and clean" in out
    assert not any("destroy" in c for c in calls)


def test_the_vm_already_restarted_on_the_survivor_is_still_destroyed(fence):
    fence.sim.path.write_text(fence.sim.fenced_xml)
    code, out, calls = fence(running_on_node2="pg1")
    assert code == 0 and "via virsh destroy on" in out, out
    assert "virsh destroy pg1" in calls


@pytest.mark.parametrize("unsettled", ["maintenance-mode", "unmanaged", "no-quorum"])
def test_nothing_short_of_a_settled_cluster_counts_node1_down(fence, unsettled):
    fence.sim.path.write_text(fence.sim.fenced_xml)
    if unsettled == "maintenance-mode":
        crm(fence.sim, "crm_attribute", "--type", "crm_config", "--name", "maintenance-mode", "--update", "true")
    elif unsettled == "unmanaged":
        crm(fence.sim, "crm_resource", "--resource", "pg1-vm", "--meta", "--set-parameter", "is-managed",
            "--parameter-value", "false")
    else:
        fence.sim.path.write_text(fence.sim.fenced_xml.replace('have-quorum="1"', 'have-quorum="0"', 1))
    code, out, _ = fence()
    assert code == 1 and "neither answered nor is known down" in out, out
