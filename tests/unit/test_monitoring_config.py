"""hastack:monitoring (issue 16): validated like the rest, never echoing its secret."""
from __future__ import annotations

import copy

import pytest

from hastack.config.load import raw_config, stack_file, unseal, validate
from hastack.reports import ConfigError

PASSWORD = "nsca-Secret-7351"
MONITORING = {
    "nagios": {"address": "10.0.5.51"},
    "nsca": {"identity": "hastack-lab5", "password": PASSWORD},
}


@pytest.fixture()
def raw(root):
    return {**unseal(raw_config(stack_file("lab5", root))), "monitoring": copy.deepcopy(MONITORING)}


def test_a_monitoring_block_validates_with_the_seeds_defaults(raw):
    monitoring = validate(raw, "Pulumi.test.yaml").monitoring
    assert str(monitoring.nagios.address) == "10.0.5.51" and monitoring.nagios.nsca_port == 5668
    assert monitoring.alert_layers == ("hypervisor", "guest") and monitoring.feed_service == "Pacemaker events"
    t = monitoring.thresholds
    assert (t.disk_warning, t.disk_critical, t.swap_warning, t.swap_critical) == ("20%", "10%", "20%", "10%")
    assert monitoring.nsca.password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(monitoring)


def test_lab5_has_the_seeds_monitoring_and_the_lab_its_own_nagios_with_debians_names(lab5_config):
    from hastack.config.load import load_stack

    on = lab5_config.monitoring_on()
    assert str(on.nagios.address) == "10.0.5.51" and on.nagios.ssh.host == "10.0.5.51"
    assert (on.nrpe_user, on.nrpe_unit, on.plugin_dir) == ("nrpe", "nrpe.service", "/usr/lib64/nagios/plugins")
    lab = load_stack("lab")
    on = lab.monitoring_on()
    assert on is not None and str(on.nagios.address) == "10.77.0.5" and on.nagios.ssh.port == 22205
    assert on.plugin_dir == "/usr/lib/nagios/plugins"


CASES = [
    ("guest alerts without a guest layer", {"alert_layers": ["guest"]}, {"guest": None},
     ["alert_layers names guest", "no guest layer"]),
    ("a layer twice", {"alert_layers": ["hypervisor", "hypervisor"]}, {}, ["alert_layers", "used twice"]),
    ("unknown layer", {"alert_layers": ["storage"]}, {}, ["alert_layers", "hypervisor", "guest"]),
    ("nagios on a hypervisor", {"nagios": {"address": "10.0.5.21"}}, {},
     ["monitoring.nagios.address 10.0.5.21", "hypervisor node1", "outside"]),
    ("nagios on a guest node", {"nagios": {"address": "10.0.5.53"}}, {}, ["10.0.5.53", "guest node"]),
    ("nagios on the VIP", {"nagios": {"address": "10.0.5.200"}}, {}, ["10.0.5.200", "guest.vip"]),
    ("disk thresholds upside down", {"thresholds": {"disk_warning": "10%", "disk_critical": "20%"}}, {},
     ["disk_warning 10%", "not above disk_critical 20%"]),
    ("swap threshold not a percentage", {"thresholds": {"swap_warning": "200MB"}}, {}, ["swap_warning", "200MB"]),
    ("load warning above critical", {"thresholds": {"load_warning": "3,2,1"}}, {}, ["load_warning 3,2,1", "exceeds"]),
    ("load not three numbers", {"thresholds": {"load_critical": "2;reboot"}}, {}, ["load_critical", "three loads"]),
    ("failed actions critical below warning",
     {"thresholds": {"failed_actions_warning": 3, "failed_actions_critical": 2}}, {},
     ["failed_actions_critical 2", "below"]),
    ("identity with a space", {"nsca": {"identity": "lab 5", "password": PASSWORD}}, {}, ["nsca.identity"]),
    ("feed service with a semicolon", {"feed_service": "events;x"}, {}, ["feed_service"]),
    ("unknown field", {"nagois": {}}, {}, ["nagois"]),
    ("a relative objects dir", {"nagios": {"address": "10.0.5.51", "objects_dir": "conf.d"}}, {},
     ["monitoring.nagios.objects_dir", "conf.d"]),
    ("an empty reload command", {"nagios": {"address": "10.0.5.51", "reload_command": []}}, {},
     ["monitoring.nagios.reload_command"]),
    ("another agent under hastack's alert id", {}, {"guest_alerts": [{"id": "nsca-alert", "path": "/usr/bin/mine", "recipients": []}]},
     ["guest.alerts has nsca-alert with path /usr/bin/mine", "give your alert another id"]),
]


@pytest.mark.parametrize("what,change,stack_change,words", CASES, ids=[c[0] for c in CASES])
def test_bad_monitoring_is_refused_with_field_value_and_fix(raw, what, change, stack_change, words):
    raw["monitoring"].update(change)
    stack_change = dict(stack_change)
    if "guest_alerts" in stack_change:
        raw["guest"]["alerts"] = stack_change.pop("guest_alerts")
    raw.update(stack_change)
    with pytest.raises(ConfigError) as caught:
        validate(raw, "Pulumi.test.yaml")
    message = str(caught.value)
    for word in words:
        assert word in message, f"{what}: {word!r} missing from:\n{message}"
    assert PASSWORD not in message


@pytest.mark.parametrize("password", ["", "  ", "line1\nline2", "tab\there"])
def test_an_empty_or_multi_line_password_is_refused_without_echoing_it(raw, password):
    raw["monitoring"]["nsca"]["password"] = password
    with pytest.raises(ConfigError) as caught:
        validate(raw, "Pulumi.test.yaml")
    message = str(caught.value)
    assert "monitoring.nsca.password" in message
    assert (not password.strip()) or password not in message and "line1" not in message and "tab" not in message


def test_a_numeric_password_is_refused_without_echoing_it(raw):
    raw["monitoring"]["nsca"]["password"] = 73519264
    with pytest.raises(ConfigError) as caught:
        validate(raw, "Pulumi.test.yaml")
    assert "73519264" not in str(caught.value) and "value not shown" in str(caught.value)


def test_a_cluster_named_like_a_guest_would_be_one_nagios_host_twice(raw):
    raw["guest"]["name"] = "pg1"
    with pytest.raises(ConfigError, match="Nagios host names .* 'pg1' is used twice"):
        validate(raw, "Pulumi.test.yaml")
    raw["monitoring"]["alert_layers"] = ["hypervisor"]  # the guest cluster has no feed host then
    assert validate(raw, "Pulumi.test.yaml").monitoring.alert_layers == ("hypervisor",)
