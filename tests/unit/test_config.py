"""Bad input is refused before any host is touched, with the field, the value and the fix."""
from __future__ import annotations

import copy

import pytest

from hastack.config.load import MASKED, raw_config, stack_file, unseal, validate
from hastack.reports import ConfigError


@pytest.fixture()
def raw(root):
    return unseal(raw_config(stack_file("lab5", root)))


def test_lab5_is_the_seed(lab5_config):
    hv = lab5_config.hypervisor
    assert [n.name for n in hv.nodes] == ["node1", "node2"]
    assert [str(a) for a in hv.nodes[0].ring_addresses] == ["192.168.2.21", "192.168.3.21"]
    assert str(hv.nodes[1].bmc.address) == "192.168.4.242"
    assert hv.tiebreaker.survivor == "node2" and hv.tiebreaker.delay_base == "15s" and hv.tiebreaker.delay_max == "30s"
    assert hv.resource_defaults == {"resource-stickiness": "1"}
    assert hv.failback.value == "allowed"
    pg1 = lab5_config.vm("pg1")
    assert (pg1.drbd_minor, pg1.drbd_ports, pg1.preferred_node, str(pg1.address)) == (4, (7797, 7798), "node1", "10.0.5.53/24")
    assert {v.name: v.preferred_node for v in lab5_config.vms} == {
        "gw1": "node1", "gw2": "node2", "mgmt": "node2", "nagios": "node1", "pg1": "node1", "pg2": "node2"}
    guest = lab5_config.guest
    assert (guest.name, str(guest.vip), guest.drbd.port, guest.drbd.disk) == ("pgcluster", "10.0.5.200", 7801, "/dev/vda5")
    assert guest.fencing.tiebreaker.survivor == "pg2"
    assert guest.resource_defaults == {"resource-stickiness": "1", "migration-threshold": "3"}
    # Guests are first reached while their VM boots; hypervisors must answer at once.
    assert [n.ssh.connect_wait for n in guest.nodes] == [600, 600]
    assert [n.ssh.connect_wait for n in hv.nodes] == [None, None]


def test_secrets_are_masked_without_the_passphrase(lab5_config):
    password = lab5_config.hypervisor.nodes[0].bmc.password
    assert password.get_secret_value() == MASKED
    assert repr(password) == "SecretStr('**********')"  # pydantic never prints the value


def _set(raw, path, value):
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


CASES = [
    # (what, path to change, new value, words the error must contain)
    ("duplicate DRBD minor", ("vms", 1, "drbd_minor"), 0, ["vms[].drbd_minor", "0", "used twice"]),
    ("duplicate DRBD port", ("vms", 1, "drbd_ports"), [7789, 7792], ["vms[].drbd_ports", "7789", "used twice"]),
    ("port outside range", ("vms", 0, "drbd_ports"), [7789, 9000], ["vms[0].drbd_ports", "9000", "port_range"]),
    ("preferred node unknown", ("vms", 0, "preferred_node"), "node3", ["vms[0].preferred_node", "node3", "node1"]),
    ("unsafe VM name", ("vms", 0, "name"), "gw1; rm -rf /", ["hastack:vms[0].name", "safe identifier"]),
    ("ring address outside subnet", ("hypervisor", "nodes", 0, "ring_addresses"), ["192.168.2.21", "10.9.9.9"],
     ["ring_addresses", "10.9.9.9", "192.168.3.0/24"]),
    ("missing fencing", ("hypervisor", "nodes", 1, "bmc"), None, ["nodes[1] (node2) has no bmc", "fence device"]),
    ("survivor unknown", ("hypervisor", "tiebreaker", "survivor"), "node9", ["tiebreaker.survivor", "node9"]),
    ("failback prevented with the seed's stickiness", ("hypervisor", "failback"), "prevented",
     ["resource-stickiness=1", "101 or more"]),
    ("bad size", ("vms", 0, "lv_size"), "40GB", ["lv_size", "40GB", "40G"]),
    ("guest in an unknown VM", ("guest", "nodes", 0, "vm"), "db9", ["guest.nodes[0].vm", "db9"]),
    ("guest fence misses a hypervisor", ("guest", "fencing", "hypervisor_addresses"), ["10.0.5.21"],
     ["hypervisor_addresses", "every hypervisor"]),
    ("no pinned host key", ("hypervisor", "nodes", 0, "ssh"), {"host": "192.168.4.231"},
     ["no host key pinned", "192.168.4.231"]),
    ("unknown field", ("hypervisor", "stonith"), True, ["hypervisor.stonith", "Extra inputs"]),
    ("DRBD monitors with one interval", ("hypervisor", "monitor_intervals"),
     {"drbd_promoted": "60s", "drbd_unpromoted": "1min"}, ["hypervisor.monitor_intervals", "both 60s", "different"]),
    ("bad start wait", ("guest", "start_wait"), "5 minutes", ["guest.start_wait", "5 minutes", "2min"]),
]


@pytest.mark.parametrize("what,path,value,words", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_refused_with_field_value_and_fix(raw, what, path, value, words):
    broken = copy.deepcopy(raw)
    _set(broken, path, value)
    with pytest.raises(ConfigError) as caught:
        validate(broken, "Pulumi.test.yaml")
    message = str(caught.value)
    for word in words:
        assert word in message, f"{what}: {word!r} missing from:\n{message}"


def test_unknown_top_level_key(raw):
    with pytest.raises(ConfigError, match="unknown key.*hastack:vm; hastack reads"):
        validate({**raw, "vm": []}, "Pulumi.test.yaml")


def test_dialect_84_needs_one_port_per_vm_only(raw):
    changed = copy.deepcopy(raw)
    changed["hypervisor"]["drbd"]["dialect"] = "8.4"
    changed["vms"][0]["drbd_ports"] = [7789, 7789]  # path 2 unused with 8.4
    assert validate(changed).vms[0].drbd_ports == (7789, 7789)
    changed["hypervisor"]["drbd"]["dialect"] = "9"
    with pytest.raises(ConfigError, match="7789 is used twice"):
        validate(changed)


def test_private_keys_end_with_the_newline_openssh_needs():
    """Found live: the guests' fence key went out without its last newline and every fence
    account login failed with 'Load key ...: error in libcrypto'."""
    from pydantic import SecretStr, TypeAdapter

    from hastack.config.models import PrivateKey

    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
    for given in (key, key + "\n", "  " + key + "\n\n"):
        got = TypeAdapter(PrivateKey).validate_python(SecretStr(given)).get_secret_value()
        assert got == key + "\n"


def test_a_configured_fence_timeout_also_times_the_fencers_status_check():
    """Pacemaker's fencer times a device's status by pcmk_monitor_timeout (60 s unless set), not
    by the start or monitor operation's timeout: the configured one must reach both."""
    from hastack.config.load import load_stack
    from hastack.layout import guest_fence_specs, hypervisor_fence_specs

    lab = load_stack("lab")
    for spec, _node, _secrets in hypervisor_fence_specs(lab.hypervisor):
        assert spec.params["pcmk_monitor_timeout"] == lab.hypervisor.op_timeouts.fence
        assert {op.timeout for op in spec.ops} == {lab.hypervisor.op_timeouts.fence}
    for spec, _node in guest_fence_specs(lab.guest):
        assert spec.params["pcmk_monitor_timeout"] == lab.guest.op_timeouts.fence
    lab5 = load_stack("lab5")  # no fence timeout configured: Pacemaker's defaults stand
    assert all("pcmk_monitor_timeout" not in spec.params for spec, _n, _s in hypervisor_fence_specs(lab5.hypervisor))


def test_force_stop_reaches_virtualdomain_only_where_configured():
    """Lab stand-ins boot no OS and ignore ACPI: they stop by destroy.  A real guest (lab5) never does."""
    from hastack.config.load import load_stack
    from hastack.layout import vm_objects

    lab, lab5 = load_stack("lab"), load_stack("lab5")
    assert all(vm_objects(vm, lab.hypervisor).domain.params.get("force_stop") == "true" for vm in lab.vms)
    assert all("force_stop" not in vm_objects(vm, lab5.hypervisor).domain.params for vm in lab5.vms)


def test_a_configured_guest_stop_timeout_times_each_chain_resources_stop():
    """A stop that overruns fences the node (seen live: the VIP's 20 s stop on a loaded guest)."""
    from hastack.config.load import load_stack
    from hastack.layout import guest_objects

    lab = guest_objects(load_stack("lab").guest)
    for spec in (lab.filesystem, lab.pgsql, lab.vip):
        assert [op.timeout for op in spec.ops if op.name == "stop"] == ["120s"]
    lab5 = guest_objects(load_stack("lab5").guest)  # not configured: the agents' own defaults
    assert not any(op.name == "stop" for spec in (lab5.filesystem, lab5.pgsql, lab5.vip) for op in spec.ops)
