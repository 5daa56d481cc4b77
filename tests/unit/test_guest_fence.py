"""The guest fence path, run for real in bash: the forced command refuses anything but
`query|destroy <allowed vm>`, and the agent reports success only on a confirmed kill or on every
hypervisor saying the VM is absent.  `sudo` and `ssh` are stand-ins on PATH: an unreachable
hypervisor is a failure this test cannot cause for real offline."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hastack.render.guest_fence import render_fence_agent, render_fence_vm_wrapper
from tests.conftest import fake_bin

FAKE_SUDO = """#!/bin/bash
echo "sudo $*" >> "$CALLS"
[[ "$3 $4" == "list --state-running" ]] && printf '%s\\n' $RUNNING
exit 0
"""


@pytest.fixture()
def wrapper(tmp_path: Path):
    bin_dir = fake_bin(tmp_path, "sudo", FAKE_SUDO)
    script = tmp_path / "fence-vm"
    script.write_text(render_fence_vm_wrapper(["pg1", "pg2"]))

    def call(original_command: str, running: str = "pg1 gw1"):
        calls = tmp_path / "calls"
        calls.write_text("")
        env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", SSH_ORIGINAL_COMMAND=original_command,
                   CALLS=str(calls), RUNNING=running)
        p = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, cwd=tmp_path)
        return p.returncode, p.stdout.strip(), p.stderr.strip(), calls.read_text().splitlines()

    return call


def test_query_reports_running_and_absent(wrapper):
    assert wrapper("query pg1-vm")[:2] == (0, "running")
    code, out, _, calls = wrapper("query pg2-vm")
    assert (code, out) == (0, "absent")
    assert calls == ["sudo -n /usr/bin/virsh list --state-running --name"]


def test_destroy_runs_exactly_one_virsh_destroy(wrapper):
    code, _, _, calls = wrapper("destroy pg2-vm")
    assert code == 0 and calls == ["sudo -n /usr/bin/virsh destroy pg2"]


@pytest.mark.parametrize("command", ["destroy gw1-vm", "start pg1-vm", "destroy pg1-vm; reboot", "query *",
                                     "destroy pg1-vm extra", "", "destroy", "destroy $(id)", "destroy ../pg1-vm"])
def test_anything_else_is_refused_without_running_anything(wrapper, command):
    code, _, err, calls = wrapper(command)
    assert code == 1 and err.startswith("Error:") and calls == []


FAKE_SSH = """#!/bin/bash
# hypervisor address is the argument after the options; the remote command is the last one
target="${@: -2:1}"; command="${@: -1}"
echo "$target $command" >> "$CALLS"
state_var="HV_${target//[.@-]/_}"
state="${!state_var:-down}"
down_var="${state_var}_DOWN"
case "$state" in
  down) echo "ssh: connect to host: Connection timed out" >&2; exit 255 ;;
  running|absent)
    case "$command" in
      query*) echo "$state"; exit 0 ;;
      locate*) echo "$state"; for peer in ${!down_var:-}; do echo "down $peer"; done; exit 0 ;;
    esac ;;
esac
[[ "$command" == destroy* ]] && { echo "Domain destroyed"; exit 0; }
exit 1
"""


@pytest.fixture()
def agent(tmp_path: Path):
    bin_dir = fake_bin(tmp_path, "ssh", FAKE_SSH)
    script = tmp_path / "fence_pgrestart"
    script.write_text(render_fence_agent("fence_pgrestart", {"pg1": "pg1", "pg2": "pg2"},
                                         {"10.0.5.21": "node1", "10.0.5.22": "node2"}, "fence-agent"))

    def call(hv1: str, hv2: str, stdin: str = "action=off\nnodename=pg1\n", hv2_reports_down: str = ""):
        calls = tmp_path / "calls"
        calls.write_text("")
        env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", CALLS=str(calls),
                   HV_fence_agent_10_0_5_21=hv1, HV_fence_agent_10_0_5_22=hv2,
                   HV_fence_agent_10_0_5_22_DOWN=hv2_reports_down)
        p = subprocess.run(["bash", str(script)], input=stdin, env=env, capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr, calls.read_text().splitlines()

    return call


def test_agent_destroys_the_vm_where_it_runs(agent):
    code, out, calls = agent("absent", "running")
    assert code == 0 and "via virsh destroy on 10.0.5.22" in out
    assert calls[-1] == "fence-agent@10.0.5.22 destroy pg1-vm"


def test_agent_succeeds_when_every_hypervisor_says_absent(agent):
    code, out, calls = agent("absent", "absent")
    assert code == 0 and "confirmed absent from all 2 hypervisors" in out
    assert not any("destroy" in c for c in calls)


def test_agent_fails_when_a_hypervisor_cannot_be_asked(agent):
    code, out, _ = agent("down", "absent")
    assert code == 1 and "10.0.5.21 (node1) neither answered nor is known down" in out


def test_an_unreachable_hypervisor_counts_as_without_the_vm_once_its_peer_reports_it_down(agent):
    code, out, calls = agent("down", "absent", hv2_reports_down="node1")
    assert code == 0 and "confirmed absent from all 2 hypervisors" in out
    assert sorted(calls) == ["fence-agent@10.0.5.21 locate pg1-vm", "fence-agent@10.0.5.22 locate pg1-vm"]
    # A peer reported down is no licence for the one that does answer: its "running" is destroyed.
    code, out, calls = agent("down", "running", hv2_reports_down="node1")
    assert code == 0 and calls[-1] == "fence-agent@10.0.5.22 destroy pg1-vm"
    # Another node's "down" does not cover node1.
    assert agent("down", "absent", hv2_reports_down="node3")[0] == 1


def test_the_vm_running_on_two_hypervisors_is_destroyed_on_both(agent):
    code, out, calls = agent("running", "running")
    assert code == 0 and {c for c in calls if "destroy" in c} == {
        "fence-agent@10.0.5.21 destroy pg1-vm", "fence-agent@10.0.5.22 destroy pg1-vm"}


def test_agent_refuses_unknown_nodes_and_monitors_the_path(agent):
    assert agent("running", "absent", "action=off\nnodename=db9\n")[0] == 1
    assert agent("down", "down", "action=monitor\n")[0] == 1
    assert agent("down", "absent", "action=monitor\n")[0] == 0


def test_each_hypervisor_address_is_pinned_to_its_own_keys_only(lab5_config):
    from components.guest_pg_cluster import hypervisor_host_keys
    from hastack.render.guest_fence import render_known_hosts

    hv = lab5_config.hypervisor
    nodes = tuple(n.model_copy(update={"ssh": n.ssh.model_copy(update={"host_keys": (f"ssh-ed25519 KEY{i}",)})})
                  for i, n in enumerate(hv.nodes))
    stack = lab5_config.model_copy(update={"hypervisor": hv.model_copy(update={"nodes": nodes})})
    lines = render_known_hosts(hypervisor_host_keys(stack)).splitlines()[1:]
    assert lines == ["10.0.5.21 ssh-ed25519 KEY0", "10.0.5.22 ssh-ed25519 KEY1"]


def test_a_flat_list_of_hypervisor_keys_is_refused_with_the_fix():
    from pydantic import ValidationError

    from hastack.config.models import GuestFencing

    with pytest.raises(ValidationError, match="give each hypervisor address its own keys"):
        GuestFencing.model_validate({"private_key": "k", "public_key": "p", "hypervisor_addresses": ["10.0.5.21"],
                                     "hypervisor_host_keys": ["ssh-ed25519 AAAA"], "tiebreaker": {}})
