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
    # Addresses held by two machines, in either layer.
    ("VIP equal to a guest's address", ("guest", "vip"), "10.0.5.53",
     ["guest.vip 10.0.5.53", "vms[4].address (VM pg1)", "an address no machine holds"]),
    ("VIP equal to a hypervisor's", ("guest", "vip"), "10.0.5.21",
     ["guest.vip 10.0.5.21", "hypervisor.nodes[0].vm_bridge_address (hypervisor node1)", "no machine holds"]),
    ("guest ring address equal to a hypervisor's", ("guest", "nodes", 0, "ring_addresses"),
     ["192.168.2.21", "192.168.3.53"],
     ["guest.nodes[0].ring_addresses[0] 192.168.2.21", "hypervisor.nodes[0].ring_addresses[0]",
      "give each its own address"]),
    ("drill client on a host the stack does not have", ("drills",), {"allowed": True, "client_on": "node3"},
     ["drills.client_on 'node3'", "neither `lab` nor a node", "use `lab`"]),
    ("two hypervisors sharing a management address", ("hypervisor", "nodes", 1, "mgmt_address"), "192.168.4.231",
     ["hypervisor.nodes[1].mgmt_address 192.168.4.231", "hypervisor.nodes[0].mgmt_address (hypervisor node1)",
      "give each its own address"]),
    ("a guest at a hypervisor's management address", ("guest", "nodes", 1, "mgmt_address"), "192.168.4.232",
     ["guest.nodes[1].mgmt_address 192.168.4.232", "hypervisor.nodes[1].mgmt_address", "VM pg2",
      "give each its own address"]),
    ("BMC at its own node's address", ("hypervisor", "nodes", 0, "bmc", "address"), "192.168.4.231",
     ["hypervisor.nodes[0].bmc.address 192.168.4.231", "its own node's address (hypervisor.nodes[0].mgmt_address)",
      "give the BMC its own address"]),
    ("BMC at another node's address", ("hypervisor", "nodes", 1, "bmc", "address"), "10.0.5.21",
     ["hypervisor.nodes[1].bmc.address 10.0.5.21", "hypervisor.nodes[0].vm_bridge_address", "node2's BMC",
      "give each its own address"]),
    ("two BMCs at one address", ("hypervisor", "nodes", 1, "bmc", "address"), "192.168.4.241",
     ["hypervisor.nodes[1].bmc.address 192.168.4.241 is also hypervisor.nodes[0].bmc.address", "fence itself",
      "give each node its own BMC's address"]),
    ("a ring's network address", ("hypervisor", "nodes", 0, "ring_addresses"), ["192.168.2.0", "192.168.3.21"],
     ["hypervisor.nodes[0].ring_addresses: 192.168.2.0 is the network address of ring 'storage1' (192.168.2.0/24)",
      "use a host address, 192.168.2.1 to 192.168.2.254"]),
    ("a ring's broadcast address", ("guest", "nodes", 1, "ring_addresses"), ["192.168.2.54", "192.168.3.255"],
     ["guest.nodes[1].ring_addresses: 192.168.3.255 is the broadcast address of ring 'storage2'"]),
    ("a VM at its network's address", ("vms", 0, "address"), "10.0.5.0/24",
     ["vms[0].address: 10.0.5.0 is the network address of its network (10.0.5.0/24)", "use a host address"]),
    ("the VIP at its broadcast address", ("guest", "vip"), "10.0.5.255",
     ["guest.vip: 10.0.5.255 is the broadcast address of guest.vip_cidr_netmask's network (10.0.5.0/24)"]),
    ("guest fencing names one hypervisor twice", ("guest", "fencing", "hypervisor_addresses"),
     ["10.0.5.21", "10.0.5.21"],
     ["guest.fencing.hypervisor_addresses has 10.0.5.21 twice and none of node2's", "give one address of each"]),
    ("guest fencing names two addresses of one hypervisor", ("guest", "fencing", "hypervisor_addresses"),
     ["10.0.5.21", "192.168.4.231"],
     ["has 10.0.5.21 and 192.168.4.231, both hypervisor node1's, and none of node2's", "miss a hypervisor"]),
    # Empty secrets.
    ("empty BMC password", ("hypervisor", "nodes", 0, "bmc", "password"), "",
     ["hastack:hypervisor.nodes[0].bmc.password", "is empty",
      "pulumi config set --secret --path 'hastack:hypervisor.nodes[0].bmc.password'"]),
    ("blank guest fence key", ("guest", "fencing", "private_key"), " \n",
     ["hastack:guest.fencing.private_key", "is empty", "pulumi config set --secret --path 'hastack:guest.fencing"]),
    ("empty SSH key", ("hypervisor", "nodes", 0, "ssh", "private_key"), "",
     ["hastack:hypervisor.nodes[0].ssh.private_key", "is empty", "pulumi config set --secret"]),
    # Bounds.
    ("corosync token too long", ("hypervisor", "token_ms"), 90000,
     ["hastack:hypervisor.token_ms", "90000 ms", "1000..60000 ms", "default is 3000"]),
    ("corosync token too short", ("guest", "token_ms"), 500, ["hastack:guest.token_ms", "500 ms", "1000..60000 ms"]),
    ("operation timeout too long", ("hypervisor", "op_timeouts"), {"vm_stop": "2h"},
     ["hastack:hypervisor.op_timeouts.vm_stop", "2h", "1s..1h", "e.g. 60s or 10min"]),
    ("operation timeout of zero", ("guest", "op_timeouts"), {"resource_stop": "0s"},
     ["hastack:guest.op_timeouts.resource_stop", "0s", "1s..1h"]),
    ("guest fence timeout too short", ("guest", "fencing", "timeout"), "500ms",
     ["hastack:guest.fencing.timeout", "500ms", "1s..1h"]),
    # Pacemaker names.
    ("misspelt cluster property", ("hypervisor", "properties"), {"stonith-enable": "true"},
     ["hastack:hypervisor.properties", "'stonith-enable'", "silently ignore", "did you mean 'stonith-enabled'?"]),
    ("unknown cluster property", ("guest", "properties"), {"stonith-enabled": "true", "quorum": "on"},
     ["hastack:guest.properties", "'quorum'", "use one of", "no-quorum-policy"]),
    ("read-only cluster property", ("hypervisor", "properties"), {"stonith-enabled": "true", "dc-version": "2.1"},
     ["hastack:hypervisor.properties", "'dc-version'", "read-only", "remove it"]),
    ("misspelt meta-attribute", ("guest", "resource_defaults"), {"resource-stickness": "101"},
     ["hastack:guest.resource_defaults", "'resource-stickness'", "did you mean 'resource-stickiness'?"]),
    # Values Pacemaker cannot read: it would use another, silently.
    ("misspelt boolean property", ("hypervisor", "properties"), {"stonith-enabled": "ture"},
     ["hastack:hypervisor.properties", "stonith-enabled='ture'", "silently use another", 'write "true" or "false"']),
    ("unknown choice of a property", ("guest", "properties"), {"stonith-enabled": "true", "no-quorum-policy": "freez"},
     ["hastack:guest.properties", "no-quorum-policy='freez'", "use one of stop, freeze, ignore, demote, suicide"]),
    ("property duration in words", ("hypervisor", "properties"), {"stonith-enabled": "true", "stonith-timeout": "2 min."},
     ["stonith-timeout='2 min.'", "write a duration, e.g. 60s"]),
    ("misspelt INFINITY", ("guest", "resource_defaults"), {"resource-stickiness": "INFINTY"},
     ["hastack:guest.resource_defaults", "resource-stickiness='INFINTY'", "INFINITY / -INFINITY"]),
    ("meta boolean misspelt in a chain extra", ("guest", "chain_extras"),
     [{"id": "pgbouncer", "after": "pgvip", "agent": "systemd:pgbouncer", "meta": {"critical": "flase"},
       "ops": [{"name": "monitor", "interval": "10s"}]}],
     ["hastack:guest.chain_extras[0].meta", "critical='flase'", 'write "true" or "false"']),
    # Rings.
    ("overlapping ring subnets", ("guest", "rings"),
     [{"name": "storage1", "subnet": "192.168.2.0/24"}, {"name": "storage2", "subnet": "192.168.0.0/16"}],
     ["guest.rings[1].subnet 192.168.0.0/16", "overlaps guest.rings[0].subnet 192.168.2.0/24",
      "give each ring its own subnet"]),
    ("a guest ring partly on a hypervisor ring", ("guest", "rings", 1, "subnet"), "192.168.3.0/25",
     ["guest.rings[1].subnet 192.168.3.0/25 overlaps hypervisor.rings[1].subnet 192.168.3.0/24 ('storage2') "
      "without being it", "takes its subnet, 192.168.3.0/24"]),
    # Monitors that never run.
    ("VM monitor interval of zero", ("hypervisor", "monitor_intervals"), {"vm": "0s"},
     ["hypervisor.monitor_intervals.vm is 0s", "never runs", "e.g. 30s"]),
    ("guest fence monitor interval of zero", ("guest", "fencing", "monitor_interval"), "0",
     ["guest.fencing.monitor_interval is 0", "can no longer fence"]),
    ("one ring twice", ("hypervisor", "rings", 1, "subnet"), "192.168.2.0/24",
     ["hypervisor.rings[1].subnet 192.168.2.0/24", "overlaps", "its own subnet"]),
    # The host firewall.
    ("a base chain nft could not name", ("hypervisor", "firewall"), {"base_chain": "filter input"},
     ["hypervisor.firewall.base_chain", "'filter input'", "'<family> <table> <chain>'", "nft list chains"]),
    ("an nftables.conf that is no absolute path", ("guest", "firewall"), {"nftables_conf": "nftables.conf"},
     ["guest.firewall.nftables_conf", "'nftables.conf'", "absolute path", "/etc/nftables.conf"]),
    ("database clients with host bits", ("guest", "firewall"), {"database_clients": ["10.0.5.7/24"]},
     ["guest.firewall.database_clients", "10.0.5.7/24 has host bits set", "10.0.5.0/24", "the one client 10.0.5.7"]),
    ("database clients overlapping", ("guest", "firewall"), {"database_clients": ["10.0.0.0/16", "10.0.5.0/24"]},
     ["guest.firewall.database_clients", "10.0.5.0/24 overlaps 10.0.0.0/16", "list each client network once"]),
    ("database clients that are no network", ("guest", "firewall"), {"database_clients": ["pgclients"]},
     ["guest.firewall.database_clients", "'pgclients' is not an IPv4 network", "10.0.5.0/24"]),
    ("no database clients and no VM address to derive them from", ("vms", 4, "address"), None,
     ["guest.firewall.database_clients is not given", "VM pg1 (guest pg1) has no address",
      "list the networks PostgreSQL's clients connect from", "[] for none"]),
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


def test_database_clients_default_to_the_guests_management_network_and_follow_the_config(raw):
    assert [str(n) for n in validate(raw).database_clients()] == ["10.0.5.0/24"]
    given = copy.deepcopy(raw)
    given["guest"]["firewall"] = {"database_clients": ["10.0.7.0/24", "10.0.5.60"]}
    assert [str(n) for n in validate(given).database_clients()] == ["10.0.7.0/24", "10.0.5.60/32"]
    given["guest"]["firewall"] = {"database_clients": []}
    assert validate(given).database_clients() == ()
    # Given, they need no VM address to derive them from.
    given["vms"][4].pop("address")
    given["vms"][4].pop("cloud_init")  # which needs the address
    assert validate(given).database_clients() == ()
    assert validate({k: v for k, v in raw.items() if k not in ("guest", "monitoring")}).database_clients() is None


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


def test_a_numeric_bmc_password_is_refused_without_echoing_it(raw):
    broken = copy.deepcopy(raw)
    broken["hypervisor"]["nodes"][0]["bmc"]["password"] = 73519264  # unquoted in YAML: an int
    with pytest.raises(ConfigError) as caught:
        validate(broken, "Pulumi.test.yaml")
    message = str(caught.value)
    assert "73519264" not in message
    assert "hastack:hypervisor.nodes[0].bmc.password" in message and "value not shown" in message
    assert "quote it" in message and "pulumi config set --secret --path 'hastack:hypervisor.nodes[0].bmc.password'" in message


def test_a_mistyped_private_key_is_not_echoed_either(raw):
    broken = copy.deepcopy(raw)
    broken["guest"]["fencing"]["private_key"] = ["-----BEGIN OPENSSH PRIVATE KEY-----", "c2VjcmV0"]
    with pytest.raises(ConfigError) as caught:
        validate(broken, "Pulumi.test.yaml")
    assert "c2VjcmV0" not in str(caught.value) and "hastack:guest.fencing.private_key" in str(caught.value)


def test_secret_fields_are_found_from_the_models():
    from hastack.config.load import SECRET_FIELDS

    assert SECRET_FIELDS == {"password", "private_key", "hashed_passwd"}


def test_both_shipped_stacks_still_validate():
    from hastack.config.load import load_stack

    for stack in ("lab", "lab5"):
        assert load_stack(stack).guest is not None


@pytest.mark.parametrize("text,words", [
    ("- hastack:hypervisor: {}\n", ["Pulumi.broken.yaml holds a YAML list, not a mapping", "`config` key"]),
    ("just text\n", ["Pulumi.broken.yaml holds a YAML string, not a mapping"]),
    ("config:\n  - hastack:hypervisor\n", ["Pulumi.broken.yaml: `config` is a YAML list, not a mapping",
                                          "hastack:hypervisor:"]),
    ("config: 42\n", ["`config` is a YAML number, not a mapping"]),
], ids=["file is a list", "file is a string", "config is a list", "config is a number"])
def test_a_stack_file_or_config_that_is_not_a_mapping_is_a_clear_error(tmp_path, text, words):
    from hastack.config.load import load_stack

    (tmp_path / "Pulumi.broken.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_stack("broken", tmp_path)
    assert caught.value.code == "CONFIG_SHAPE"
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_an_empty_stack_file_still_says_what_is_missing(tmp_path):
    from hastack.config.load import load_stack

    (tmp_path / "Pulumi.empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="hastack:hypervisor: Field required"):
        load_stack("empty", tmp_path)


SECRET_PATHS = [("hypervisor", "nodes", 0, "bmc", "password"), ("hypervisor", "nodes", 1, "ssh", "private_key"),
                ("guest", "fencing", "private_key"), ("guest", "nodes", 0, "ssh", "private_key")]


@pytest.mark.parametrize("value", [73519264, 7351.9264, True, ["73519264"], {"plain": "73519264"}],
                         ids=["int", "float", "bool", "list", "mapping"])
@pytest.mark.parametrize("path", SECRET_PATHS, ids=[".".join(map(str, p)) for p in SECRET_PATHS])
def test_no_type_error_on_a_secret_echoes_it(raw, path, value):
    broken = copy.deepcopy(raw)
    _set(broken, path, value)
    with pytest.raises(ConfigError) as caught:
        validate(broken, "Pulumi.test.yaml")
    message = str(caught.value)
    assert "73519264" not in message and "7351.9264" not in message
    assert "value not shown" in message and "pulumi config set --secret --path" in message


@pytest.mark.parametrize("path,where,near", [
    (("hypervisor", "nodes", 0, "bmc", "passwd"), "hypervisor.nodes[0].bmc.passwd", "did you mean 'password'?"),
    (("guest", "fencing", "privat_key"), "guest.fencing.privat_key", "did you mean 'private_key'"),
    (("guest", "nodes", 1, "ssh", "privatekey"), "guest.nodes[1].ssh.privatekey", "did you mean 'private_key'?"),
], ids=["bmc passwd", "fence privat_key", "ssh privatekey"])
def test_a_misspelt_secret_field_is_named_but_its_value_never_shown(raw, path, where, near):
    """An unknown key's value is never echoed: the key may be a secret's, misspelt."""
    broken = copy.deepcopy(raw)
    _set(broken, path, "hunter2-73519264")
    with pytest.raises(ConfigError) as caught:
        validate(broken, "Pulumi.test.yaml")
    message = str(caught.value)
    assert "hunter2" not in message
    assert f"hastack:{where}: Extra inputs are not permitted; {near}" in message


def test_a_yaml_syntax_error_names_line_and_column_but_never_quotes_the_line(tmp_path):
    from hastack.config.load import load_stack

    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  hastack:hypervisor:\n    password: p@ss: w0rd\n")
    with pytest.raises(ConfigError) as caught:
        load_stack("broken", tmp_path)
    assert caught.value.code == "CONFIG_YAML"
    assert "line 3, column" in str(caught.value) and "w0rd" not in str(caught.value)


@pytest.mark.parametrize("text,code,words", [
    ("config:\n  hastack:guest: {}\n  hastack:guest: {}\n", "CONFIG_YAML",
     ["line 3", "key 'hastack:guest' appears twice", "keep one"]),
    ("config:\n  hastack:hypervisor:\n    properties: {stonith-enabled: 'true', stonith-enabled: 'false'}\n",
     "CONFIG_YAML", ["key 'stonith-enabled' appears twice"]),
    ("config:\n  hastak:guest: {}\n", "CONFIG_UNKNOWN_KEY",
     ["config key 'hastak:guest' is not in the hastack: namespace", "hastack would ignore it", "write hastack:guest"]),
    ("config:\n  Hastack:drills: {allowed: false}\n", "CONFIG_UNKNOWN_KEY", ["write hastack:drills"]),
    ("config:\n  hastack: {hypervisor: {}}\n", "CONFIG_UNKNOWN_KEY", ["write hastack:<key>", "hastack:hypervisor"]),
], ids=["top-level key twice", "property twice", "namespace misspelt", "namespace capitalised", "no namespace"])
def test_a_setting_hastack_would_drop_is_refused(tmp_path, text, code, words):
    """PyYAML keeps the last of two equal keys and hastack reads only its own namespace: either
    would drop a setting without a word."""
    from hastack.config.load import load_stack

    (tmp_path / "Pulumi.broken.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_stack("broken", tmp_path)
    assert caught.value.code == code, str(caught.value)
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_other_namespaces_and_yaml_merge_keys_still_load(tmp_path):
    from hastack.config.load import raw_config

    path = tmp_path / "Pulumi.ok.yaml"
    path.write_text("base: &base {name: x, domain: d}\nconfig:\n  pulumi:tags: {team: ha}\n  aws:region: eu\n"
                    "  hastack:hypervisor:\n    <<: *base\n    name: y\n")
    assert raw_config(path) == {"hypervisor": {"name": "y", "domain": "d"}}


@pytest.mark.parametrize("make", ["directory", "not UTF-8"])
def test_a_stack_file_that_cannot_be_read_is_a_clear_error(tmp_path, make):
    from hastack.config.load import load_stack

    path = tmp_path / "Pulumi.broken.yaml"
    path.mkdir() if make == "directory" else path.write_bytes(b"config:\n  \xff\xfe: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_stack("broken", tmp_path)
    assert caught.value.code == "CONFIG_UNREADABLE" and "Pulumi.broken.yaml" in str(caught.value)


@pytest.mark.parametrize("stickiness,ok", [("INFINITY", True), ("+INFINITY", True), ("101", True), ("100", False)])
def test_failback_prevented_reads_stickiness_as_a_pacemaker_score(raw, stickiness, ok):
    changed = copy.deepcopy(raw)
    changed["hypervisor"]["failback"] = "prevented"
    changed["hypervisor"]["resource_defaults"] = {"resource-stickiness": stickiness}
    if ok:
        assert validate(changed).hypervisor.resource_defaults["resource-stickiness"] == stickiness
    else:
        with pytest.raises(ConfigError, match="resource-stickiness=100 does not exceed the location preference 100"):
            validate(changed)


@pytest.mark.parametrize("props", [{"stonith-enabled": "yes", "stonith-timeout": "120"},
                                   {"stonith-enabled": "on", "cluster-recheck-interval": "PT15M"},
                                   {"stonith-enabled": "true", "load-threshold": "80%", "no-quorum-policy": "freeze"}])
def test_values_pacemaker_reads_are_accepted(raw, props):
    changed = copy.deepcopy(raw)
    changed["hypervisor"]["properties"] = props
    assert validate(changed).hypervisor.properties == props


@pytest.mark.parametrize("layer", ["hypervisor", "guest"])
def test_a_selinux_source_that_does_not_exist_is_named_before_render_reads_it(raw, layer):
    broken = copy.deepcopy(raw)
    broken[layer]["selinux_modules"][0]["source"] = "files/selinux/no-such.te"
    with pytest.raises(ConfigError) as caught:
        validate(broken, "Pulumi.test.yaml")
    assert caught.value.code == "CONFIG_FILE_MISSING"
    assert f"hastack:{layer}.selinux_modules[0].source: files/selinux/no-such.te is no file" in str(caught.value)
