"""check_pacemaker, the rendered plugin, run by python3 on real crm_mon XML.

The cluster is the lab5 guest cluster: its rendered CIB advanced by crm_simulate (boot, promotion,
then each fault), read by the real crm_mon through CIB_file.  `sudo` is a stand-in first on PATH
that runs crm_mon only with the exact command line the rendered sudoers rule permits."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from hastack.facts.cluster_health import CRITICAL, OK, UNKNOWN, WARNING, judge, parse_crm_mon_health
from hastack.render.nrpe import render_check_pacemaker, render_nrpe_sudoers
from tests.conftest import fake_bin
from hastack.simulate import Simulation

pytestmark = pytest.mark.tools

FAKE_SUDO = """#!/bin/bash
[[ "$1" == -n ]] || exit 1
shift
grep -qxF -- "$*" "$PERMITTED" || { echo "sudo: not permitted: $*" >&2; exit 1; }
[[ -n "${CRM_MON_FAILS:-}" ]] && { echo "crm_mon: Error: cluster is not available on this node" >&2; exit 102; }
shift
exec crm_mon "$@"
"""


class Cluster:
    """The guest cluster as a CIB file, both nodes up, DRBD promoted, a DC elected."""

    def __init__(self, cib_xml: str, nodes: tuple[str, str]):
        self.nodes = nodes
        self.sim = Simulation(cib_xml)
        self.sim.step("-u", nodes[0], "-u", nodes[1])
        self.promote()
        # crm_mon reports a DC (and so quorum) only when the CIB names one.
        self.edit(lambda xml: xml.replace("<cib ", f'<cib dc-uuid="{nodes[1]}" ', 1))

    def promote(self):
        self.sim.set_attributes({n: {"master-drbd-pgdata": "10000"} for n in self.nodes})
        self.sim.settle()

    def edit(self, change):
        self.sim.path.write_text(change(self.sim.path.read_text()))

    def cibadmin(self, *argv: str):
        subprocess.run(["cibadmin", *argv], env=dict(os.environ, CIB_file=str(self.sim.path)), check=True,
                       capture_output=True, text=True)


@pytest.fixture()
def cluster(lab5_render, lab5_config):
    nodes = tuple(n.pacemaker_name for n in lab5_config.guest.nodes)
    c = Cluster((lab5_render / "guest/cib.xml").read_text(), nodes)
    yield c
    c.sim.close()


@pytest.fixture()
def plugin(tmp_path: Path):
    bin_dir = fake_bin(tmp_path, "sudo", FAKE_SUDO)
    rule = render_nrpe_sudoers("nagios").splitlines()[-1]
    permitted = tmp_path / "permitted"
    permitted.write_text(rule.split("NOPASSWD:", 1)[1].strip() + "\n")
    script = tmp_path / "check_pacemaker"
    script.write_text(render_check_pacemaker())
    script.chmod(0o755)

    def run(cluster: Cluster, *args: str, **env) -> tuple[int, str]:
        full = dict(os.environ, PATH=f"{bin_dir}:/usr/sbin:/usr/bin:/bin", PERMITTED=str(permitted),
                    CIB_file=str(cluster.sim.path), **env)
        p = subprocess.run(["python3", str(script), *args], env=full, capture_output=True, text=True, timeout=60)
        lines = p.stdout.splitlines()
        assert len(lines) == 1 and not p.stderr, (p.stdout, p.stderr)  # one status line, as NRPE wants
        return p.returncode, lines[0]

    return run


def status(line: str) -> tuple[str, dict[str, str]]:
    text, perf = line.split(" | ")
    return text, dict(re.findall(r"(\w+)=([^;\s]+)", perf))


def test_healthy(plugin, cluster):
    code, line = plugin(cluster)
    text, perf = status(line)
    assert code == OK and text == "PACEMAKER OK - 2/2 nodes online, quorum, 7 resource instances active, no failed actions"
    assert perf == {"nodes_online": "2", "resources_active": "7", "resources_stopped": "0", "failed_actions": "0"}


def test_a_node_offline(plugin, cluster):
    cluster.sim.step("--node-fail", cluster.nodes[0])  # lost and fenced: offline, clean
    cluster.sim.settle()
    code, line = plugin(cluster)
    text, perf = status(line)
    assert code == CRITICAL and f"offline: {cluster.nodes[0]}" in text and "unclean" not in text
    assert perf["nodes_online"] == "1"


def test_a_stopped_resource(plugin, cluster):
    # The VIP may run nowhere: stopped although its target role is Started.
    for i, node in enumerate(cluster.nodes):
        cluster.cibadmin("--create", "-o", "constraints", "-X",
                         f'<rsc_location id="ban-vip-{i}" rsc="pgvip" node="{node}" score="-INFINITY"/>')
    cluster.sim.settle()
    code, line = plugin(cluster)
    text, perf = status(line)
    assert code == CRITICAL and "stopped: pgvip" in text and perf["resources_stopped"] == "1"


def test_a_disabled_resource_is_not_a_problem(plugin, cluster):
    cluster.cibadmin("--modify", "-X", '<primitive id="pgvip"><meta_attributes id="pgvip-meta_attributes">'
                     '<nvpair id="pgvip-meta_attributes-target-role" name="target-role" value="Stopped"/>'
                     '</meta_attributes></primitive>')
    cluster.sim.settle()
    code, line = plugin(cluster)
    assert code == OK, line


def test_a_failed_action(plugin, cluster):
    # pgsql's monitor finds it not running on the primary; Pacemaker recovers it in place.
    primary = cluster.nodes[0]
    cluster.sim.step(f"--op-inject=pgsql_monitor_10000@{primary}=7")
    cluster.sim.settle()
    code, line = plugin(cluster)
    text, perf = status(line)
    assert code == WARNING, line
    assert text.startswith("PACEMAKER WARNING - 1 failed action: pgsql monitor on ") and "not running" in text
    assert perf["failed_actions"] == "1" and perf["resources_stopped"] == "0"
    assert plugin(cluster, "-w", "1", "-c", "1")[0] == CRITICAL
    assert plugin(cluster, "-w", "2")[0] == OK


def test_no_quorum(plugin, cluster):
    cluster.edit(lambda xml: xml.replace('have-quorum="1"', 'have-quorum="0"', 1))
    code, line = plugin(cluster)
    assert code == CRITICAL and status(line)[0].startswith("PACEMAKER CRITICAL - no quorum")


def test_crm_mon_failing_is_unknown(plugin, cluster):
    code, line = plugin(cluster, CRM_MON_FAILS="1")
    assert code == UNKNOWN and line == ("PACEMAKER UNKNOWN - crm_mon failed: crm_mon: Error: cluster is not "
                                        "available on this node")


def test_a_sudo_rule_that_does_not_match_is_unknown_not_ok(plugin, cluster, tmp_path):
    (tmp_path / "permitted").write_text("/usr/sbin/crm_mon -1\n")
    code, line = plugin(cluster)
    assert code == UNKNOWN and "not permitted" in line


def test_the_parser_in_process_agrees_with_the_script(plugin, cluster):
    xml = cluster.sim.status_xml()
    health = parse_crm_mon_health(xml)
    assert health.dc and health.quorum and len(health.nodes) == 2
    assert judge(health) == plugin(cluster)
