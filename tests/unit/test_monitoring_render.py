"""NRPE config, sudo rule, check_pacemaker script and Nagios objects, rendered (issue 16, not wired)."""
from __future__ import annotations

import ast

import pytest

from hastack.config.models import CheckThresholds
from hastack.facts import cluster_health
from hastack.render.nagios import (
    PASSIVE_COMMAND, NagiosGuest, render_cluster_feed_objects, render_guest_objects, render_passive_command,
)
from hastack.render.nrpe import (
    CHECK_PACEMAKER_PATH, NRPE_CONFIG_PATH, nrpe_checks, render_check_pacemaker, render_nrpe_config,
    render_nrpe_service_dropin, render_nrpe_sudoers,
)

CHECKS = nrpe_checks(CheckThresholds())


def test_the_seeds_checks_and_check_pacemaker_with_their_thresholds():
    assert [(c.name, c.description) for c in CHECKS] == [
        ("check_load", "CPU Load"), ("check_disk", "Disk /"), ("check_users", "Users"), ("check_swap", "Swap"),
        ("check_pacemaker", "Pacemaker")]
    lines = {c.name: c.command_line for c in CHECKS}
    assert lines["check_disk"] == "/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /"  # the seed's
    assert lines["check_swap"] == "/usr/lib/nagios/plugins/check_swap -w 20% -c 10%"
    no_swap = {c.name: c.command_line for c in nrpe_checks(CheckThresholds(swap_absent="ok"))}
    assert no_swap["check_swap"] == "/usr/lib/nagios/plugins/check_swap -w 20% -c 10% -n ok"
    assert lines["check_pacemaker"] == f"{CHECK_PACEMAKER_PATH} -w 1"
    rhel = nrpe_checks(CheckThresholds(failed_actions_critical=3), "/usr/lib64/nagios/plugins/")
    assert rhel[0].argv[0] == "/usr/lib64/nagios/plugins/check_load" and rhel[-1].argv[-2:] == ("-c", "3")


def test_only_the_nagios_server_may_ask_and_never_with_arguments():
    text = render_nrpe_config("10.0.5.51", CHECKS)
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    assert [s for s in settings if s.startswith("allowed_hosts")] == ["allowed_hosts=10.0.5.51"]
    assert "dont_blame_nrpe=0" in settings and "allow_bash_command_substitution=0" in settings
    assert not any("include" in s for s in settings)  # a whole file: nothing else widens it
    assert sum(s.startswith("command[") for s in settings) == 5


def test_the_sudo_rule_is_one_exact_crm_mon_command_line():
    rule = render_nrpe_sudoers("nrpe").splitlines()[-1]
    assert rule == "nrpe ALL=(root) NOPASSWD: /usr/sbin/crm_mon --one-shot --output-as xml"
    assert " ".join(cluster_health.CRM_MON_ARGV) == "sudo -n " + rule.split("NOPASSWD: ")[1]


def test_the_plugin_is_the_tested_module_and_needs_only_the_standard_library():
    script = render_check_pacemaker()
    assert script.startswith("#!/usr/bin/python3\n")
    tree = ast.parse(script)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "argparse", "subprocess", "sys", "xml", "dataclasses"}, imported


@pytest.mark.parametrize("xml,words", [
    ("not xml", "not XML"),
    ('<pacemaker-result><status code="102" message="Not connected"/></pacemaker-result>', "Not connected"),
])
def test_an_unreadable_answer_is_unknown(xml, words):
    code, line = cluster_health.run([], crm_mon=xml)
    assert code == cluster_health.UNKNOWN and words in line and "\n" not in line


def test_a_guests_objects_are_the_seeds():
    text = render_guest_objects(NagiosGuest("pg1", "pg1.lab5.decoursey.com", "10.0.5.53"), CHECKS)
    assert text.count("define host {") == 1 and text.count("define service {") == 5
    for line in ("    use                    linux-server", "    address                10.0.5.53",
                 "    check_command          check_nrpe!check_disk", "    service_description    Disk /"):
        assert line in text.splitlines(), line


def test_the_feed_is_passive_volatile_and_hard_at_once():
    text = render_cluster_feed_objects("pgcluster", "Pacemaker events", ("pg1", "pg2"))
    service = text.split("define service {")[1]
    for directive in ("active_checks_enabled   0", "passive_checks_enabled  1", "is_volatile             1",
                      "max_check_attempts      1", "check_freshness         0", f"check_command           {PASSIVE_COMMAND}"):
        assert directive in service, directive
    assert PASSIVE_COMMAND in render_passive_command()


@pytest.mark.parametrize("guest", [NagiosGuest("pg1;x", "a", "10.0.5.53"), NagiosGuest("pg1", "a!b", "1.2.3.4"),
                                   NagiosGuest("pg1", "a", "$HOSTADDRESS$"), NagiosGuest("pg1", "a\nb", "1.2.3.4")])
def test_values_nagios_would_read_otherwise_are_refused(guest):
    with pytest.raises(ValueError, match="cannot be a Nagios object value"):
        render_guest_objects(guest, CHECKS)


def test_a_stopped_member_of_a_disabled_group_is_not_a_stopped_resource():
    xml = ('<pacemaker-result><summary><current_dc present="true" with_quorum="true"/></summary><nodes>'
           '<node name="n1" online="true" type="member"/></nodes><resources>'
           '<group id="g" number_resources="1" target_role="Stopped"><resource id="a" role="Stopped" active="false"/>'
           '</group><group id="h" number_resources="1"><resource id="b" role="Stopped" active="false"/></group>'
           '</resources></pacemaker-result>')
    code, line = cluster_health.judge(cluster_health.parse_crm_mon_health(xml))
    assert code == cluster_health.CRITICAL and "stopped: b |" in line


def test_nrpe_is_started_on_hastacks_config_instead_of_the_packages():
    lines = render_nrpe_service_dropin().splitlines()
    assert lines[1:] == ["[Service]", "ExecStart=", f"ExecStart=/usr/sbin/nrpe -c {NRPE_CONFIG_PATH} -f"]
