"""Each policy rule against props that break it and props that satisfy it, without the engine.

The baseline is the lab5 stack's resources exactly as the program registers them (run once under
Pulumi's mocks, secret markers turned into secret paths); each case deep-copies it and breaks one
thing, so the props are the real shapes the pack sees.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hastack import policy_rules as pr  # noqa: E402


@pytest.fixture(scope="module")
def lab5():
    from commands.render import policy_resources
    from hastack.config.load import load_stack

    return policy_resources(load_stack("lab5"), "lab5")


class Stack:
    """A mutable copy of the baseline."""

    def __init__(self, base):
        resources, secrets = base
        self.resources = [pr.Resource(r.type, r.name, copy.deepcopy(r.props)) for r in resources]
        self.secrets = copy.deepcopy(secrets)

    def get(self, name: str) -> dict:
        return next(r for r in self.resources if r.name == name).props

    def spec(self, name: str) -> dict:
        return self.get(name)["spec"]

    def drop(self, name: str) -> None:
        self.resources = [r for r in self.resources if r.name != name]

    def add(self, type_: str, name: str, props: dict) -> None:
        self.resources.append(pr.Resource(type_, name, props))

    def findings(self, rule: str) -> list[pr.Finding]:
        return [f for f in pr.run_all(self.resources, self.secrets) if f.rule == rule]


@pytest.fixture
def stack(lab5) -> Stack:
    return Stack(lab5)


def messages(findings) -> str:
    return "\n".join(f.message for f in findings)


# ---- the baseline -------------------------------------------------------------------------------
def test_lab5_breaks_no_mandatory_rule(stack):
    findings = pr.run_all(stack.resources, stack.secrets)
    advisory = {r.name for r in pr.RULES if r.advisory}
    assert [f for f in findings if f.rule not in advisory] == []
    assert [f.rule for f in findings] == ["failback-declared-allowed"]


def test_every_rule_is_registered_once():
    names = [r.name for r in pr.RULES]
    assert len(names) == len(set(names)) == 22


# ---- props through their models -----------------------------------------------------------------
def test_props_that_do_not_validate_are_a_violation_naming_resource_field_and_value(stack):
    stack.get("gw2-drbd")["minor"] = "four"
    [found] = stack.findings("props-valid")
    assert found.resource == "gw2-drbd"
    assert found.message.startswith("gw2-drbd (DrbdResource): minor = 'four': Input should be a valid integer")
    assert "DrbdResourceProps (hastack.resources.drbd_resource)" in found.message
    # the other rules run without it (no crash), and see the rest of the stack as before
    assert stack.findings("drbd-unique-port-minor") == [] and stack.findings("drbd-fencing") == []
    assert "props-valid" not in {r.name for r in pr.RULES if r.advisory}


def test_a_prop_a_preview_cannot_know_yet_is_not_a_violation(stack):
    """pg1's host key is made by VmHostKey, which a first preview has not created: the pack leaves
    that prop out and marks it unknown; the same prop missing for no reason is a violation."""
    import dataclasses

    del stack.get("pg1-first-boot")["host_public_key"]
    assert [f.resource for f in stack.findings("props-valid")] == ["pg1-first-boot"]
    stack.resources = [dataclasses.replace(r, unknown=("host_public_key",)) if r.name == "pg1-first-boot" else r
                       for r in stack.resources]
    assert stack.findings("props-valid") == []


def test_a_missing_field_and_an_unknown_field_are_named(stack):
    del stack.spec("pgcluster-pgvip")["agent"]
    stack.get("lab5-corosync")["token"] = 3000
    found = stack.findings("props-valid")
    assert [f.resource for f in found] == ["lab5-corosync", "pgcluster-pgvip"]
    assert "lab5-corosync (CorosyncCluster): token = 3000: Extra inputs are not permitted" in found[0].message
    assert "pgcluster-pgvip (PcsResource): spec.agent: Field required" in found[1].message
    # the chain rule no longer sees the VIP: it says so instead of crashing
    assert "no IPaddr2 resource" in messages(stack.findings("guest-chain-complete"))


def test_a_bad_value_that_may_be_a_secret_is_never_shown(stack):
    stack.spec("lab5-fence-node1")["params"]["ip"] = ["hunter2"]  # not a string
    stack.get("lab5-fence-node1")["secret_values"]["password"] = 12345678
    stack.secrets["lab5-fence-node2"] = {("spec", "params", "ip")}
    stack.spec("lab5-fence-node2")["params"]["ip"] = 87654321
    text = messages(stack.findings("props-valid"))
    assert "secret_values.password: Input should be a valid string" in text
    assert "spec.params.ip: Input should be a valid string" in text
    assert "12345678" not in text and "87654321" not in text and "hunter2" not in text
    assert "87654321" not in messages(pr.check_props_valid(stack.resources, {}, None))


def test_a_type_the_registry_does_not_list_is_a_violation(stack):
    stack.add("PgBouncer", "pooler", {"layer": "guest", "nodes": []})
    [found] = stack.findings("props-valid")
    assert found.resource == "pooler" and "PgBouncer is not a hastack resource type" in found.message
    assert "hastack/resources/registry.py" in found.message


def test_numbers_arrive_as_floats_and_are_read_as_the_integers_they_are(stack):
    """protobuf's Struct carries every number as a float."""
    stack.get("gw2-drbd")["minor"] = 0.0
    stack.get("gw2-drbd")["ports"] = [float(p) for p in stack.get("gw2-drbd")["ports"]]
    assert stack.findings("props-valid") == []
    assert "DRBD resource gw2 uses minor 0 (/dev/drbd0) on node1.lab5.decoursey.com, already used by gw1" in messages(
        stack.findings("drbd-unique-port-minor"))


# ---- stickiness against location ----------------------------------------------------------------
def test_stickiness_1_against_location_100_with_failback_prevented_is_refused(stack):
    stack.get("lab5-cluster-config")["failback"] = "prevented"
    found = stack.findings("stickiness-exceeds-location")
    assert len(found) == 6  # one per VM preference
    text = messages(found)
    assert "101 or more" in text
    assert "pg1-vm prefers node1.lab5.decoursey.com with score 100 but resource-stickiness is 1 (resource_defaults)" in text
    assert found[0].resource == "lab5-cluster-config"


def test_stickiness_101_satisfies_failback_prevented(stack):
    config = stack.get("lab5-cluster-config")
    config["failback"] = "prevented"
    config["resource_defaults"]["resource-stickiness"] = "101"
    assert stack.findings("stickiness-exceeds-location") == []
    assert stack.findings("failback-declared-allowed") == []


def test_undeclared_failback_counts_as_prevented(stack):
    stack.get("lab5-cluster-config")["failback"] = None
    assert "not declared" in messages(stack.findings("stickiness-exceeds-location"))


def test_per_resource_stickiness_is_used(stack):
    stack.get("lab5-cluster-config")["failback"] = "prevented"
    for r in stack.resources:
        if r.type == "PcsResource" and r.props["spec"]["agent"] == "VirtualDomain":
            r.props["spec"]["meta"]["resource-stickiness"] = "200"
    assert stack.findings("stickiness-exceeds-location") == []


def test_location_only_declared_in_location_scores_counts(stack):
    stack.resources = [r for r in stack.resources
                       if not (r.type == "PcsConstraint" and r.props["spec"]["kind"] == "location")]
    stack.get("lab5-cluster-config")["failback"] = "prevented"
    assert "101 or more" in messages(stack.findings("stickiness-exceeds-location"))


def test_failback_allowed_is_an_advisory_naming_the_vms(stack):
    text = messages(stack.findings("failback-declared-allowed"))
    assert "declared 'allowed'" in text and "pg1-vm" in text and "101 or more" in text


def test_failback_allowed_but_stickiness_too_high_says_nothing_fails_back(stack):
    stack.get("lab5-cluster-config")["resource_defaults"]["resource-stickiness"] = "500"
    assert "nothing fails back" in messages(stack.findings("failback-declared-allowed"))


# ---- fencing ------------------------------------------------------------------------------------
def test_stonith_disabled_is_refused(stack):
    stack.get("pgcluster-cluster-config")["properties"]["stonith-enabled"] = "false"
    found = stack.findings("stonith-enabled")
    assert len(found) == 1 and found[0].resource == "pgcluster-cluster-config"
    assert "stonith-enabled='false'" in found[0].message and 'stonith-enabled: "true"' in found[0].message


def test_node_without_fence_device_is_refused(stack):
    stack.drop("lab5-fence-node2")
    found = stack.findings("fence-device-per-node")
    assert len(found) == 1 and "node node2.lab5.decoursey.com has no fence device" in found[0].message


def test_device_targeting_another_node_than_it_avoids_is_refused(stack):
    stack.get("lab5-fence-node1")["fences_node"] = "node2.lab5.decoursey.com"
    assert "targets ['node1.lab5.decoursey.com'] but its location avoids only node2.lab5.decoursey.com" in messages(
        stack.findings("fence-device-avoids-target"))


def test_location_putting_a_device_on_its_target_is_refused(stack):
    stack.add("PcsConstraint", "bad-loc", {"layer": "hypervisor", "nodes": [], "spec": {
        "kind": "location", "id": "loc-fence-node1-on-node1", "resource": "fence-node1", "node": "node1.lab5.decoursey.com", "score": "100"}})
    text = messages(stack.findings("fence-device-avoids-target"))
    assert "loc-fence-node1-on-node1 gives it score 100 on node1.lab5.decoursey.com, the node it fences" in text


def test_device_fencing_a_non_member_is_refused(stack):
    stack.get("pgcluster-fence-pg1")["fences_node"] = "pg9"
    assert "fences_node 'pg9' is not a guest node" in messages(stack.findings("fence-device-avoids-target"))


def test_drbd_on_names_that_are_not_the_pacemaker_names_are_refused(stack):
    """The combination behind the H3 outage: short Pacemaker names, FQDN hosts, crm-fence-peer."""
    assert stack.findings("drbd-handler-node-names") == []
    stack.get("lab5-corosync")["pacemaker_names"] = {"node1": "node1", "node2": "node2"}
    found = stack.findings("drbd-handler-node-names")
    assert len(found) == 6  # every VM's DRBD resource
    assert "forbid promotion on the survivor too" in found[0].message
    stack.get("pgcluster-corosync")["pacemaker_names"] = {"pg1": "pg1", "pg2": "pg2"}
    assert len(stack.findings("drbd-handler-node-names")) == 7


def test_no_tiebreaker_is_refused(stack):
    params = stack.spec("lab5-fence-node2")["params"]
    del params["pcmk_delay_base"], params["pcmk_delay_max"]
    assert "both nodes shoot at once" in messages(stack.findings("single-tiebreaker"))


def test_two_tiebreakers_are_refused(stack):
    stack.spec("pgcluster-fence-pg1")["params"].update(pcmk_delay_base="15s")
    found = stack.findings("single-tiebreaker")
    assert len(found) == 1 and "guest cluster: 2 devices carry a delay" in found[0].message


def test_guest_fence_timeout_shorter_than_vm_restart_is_refused(stack):
    stack.spec("pgcluster-fence-pg1")["params"]["pcmk_off_timeout"] = "60s"
    del stack.spec("pgcluster-fence-pg2")["params"]["pcmk_reboot_timeout"]
    text = messages(stack.findings("guest-fence-timeout"))
    assert "fence-pg1: pcmk_off_timeout=60s does not exceed the 120s" in text
    assert "stop 60s + start 60s" in text and "121s or more" in text
    assert "fence-pg2: pcmk_reboot_timeout=unset (stonith-timeout 60s)" in text


def test_guest_fence_timeout_follows_the_vm_timeouts(stack):
    for op in stack.spec("pg1-vm")["ops"]:
        if op["name"] == "start":
            op["timeout"] = "120s"
    assert "does not exceed the 180s" in messages(stack.findings("guest-fence-timeout"))


def test_guest_fence_path_missing_a_hypervisor_is_refused(stack):
    stack.get("pgcluster-fence-pg2")["fence_path"] = ["10.0.5.21"]
    found = stack.findings("guest-fence-reaches-hypervisors")
    assert len(found) == 1
    assert "reaches no address of hypervisor node2 (['192.168.4.232', '10.0.5.22'])" in found[0].message


# ---- DRBD ---------------------------------------------------------------------------------------
def test_protocol_a_in_global_common_is_refused(stack):
    gc = stack.get("lab5-drbd-global-common")
    gc["content"] = gc["content"].replace("protocol C;", "protocol A;")
    found = stack.findings("drbd-protocol-c")
    assert len(found) == 1 and "sets protocol A" in found[0].message and "use protocol C" in found[0].message


def test_protocol_in_a_resources_options_is_no_option_of_it(stack):
    """DrbdOptions has no protocol: the .res always says protocol C, and a protocol in the
    props is refused by the model, field named."""
    stack.get("pg1-drbd")["options"]["protocol"] = "B"
    [found] = stack.findings("props-valid")
    assert found.resource == "pg1-drbd" and "options.protocol = 'B': Extra inputs are not permitted" in found.message


def test_protocol_of_the_res_file_as_written_is_checked(stack, monkeypatch):
    from hastack.resources import drbd_resource

    written = drbd_resource.res_text
    monkeypatch.setattr(drbd_resource, "res_text", lambda props: written(props).replace("protocol C;", "protocol A;"))
    found = stack.findings("drbd-protocol-c")
    assert len(found) == 7 and "DRBD resource gw1: protocol A: asynchronous replication" in found[0].message


def test_drbd9_with_one_path_is_refused(stack):
    drbd = stack.get("pg1-drbd")
    drbd["ports"] = [7797]
    assert "DRBD resource pg1 (DRBD 9) has 1 path(s)" in messages(stack.findings("drbd-two-paths"))


def test_drbd9_paths_on_one_network_are_refused(stack):
    drbd = stack.get("pg1-drbd")
    drbd["hosts"] = [[h[0], [h[1][0], h[1][0].replace(".21", ".31").replace(".22", ".32")]] for h in drbd["hosts"]]
    text = messages(stack.findings("drbd-two-paths"))
    assert "share network ['192.168.2.0/24']" in text


def test_network_prefix_is_configurable(stack):
    drbd = stack.get("pg1-drbd")
    drbd["hosts"] = [[h[0], [h[1][0], h[1][0].replace(".21", ".131").replace(".22", ".132")]] for h in drbd["hosts"]]
    assert stack.findings("drbd-two-paths")  # /24: one network
    assert pr.check_drbd_two_paths(stack.resources, {"network_prefix": 25}) == []


def test_drbd84_says_what_redundancy_is_lost(stack):
    assert stack.findings("drbd84-single-path") == []
    drbd = stack.get("pg1-drbd")
    drbd["options"]["dialect"] = "8.4"
    drbd["ports"] = [7797]
    found = stack.findings("drbd84-single-path")
    assert len(found) == 1
    assert "replicates over one path only (192.168.2.21<->192.168.2.22:7797)" in found[0].message
    assert "(192.168.3.21<->192.168.3.22)" in found[0].message and "Outdated" in found[0].message
    assert stack.findings("drbd-two-paths") == []


def test_force_stop_is_an_advisory_naming_the_vm(stack):
    assert stack.findings("vm-force-stop") == []
    stack.spec("pg1-vm")["params"]["force_stop"] = "true"
    [found] = stack.findings("vm-force-stop")
    assert found.resource == "pg1-vm" and "pg1-vm: force_stop=true" in found.message
    assert "force_stop: false" in found.message
    assert "vm-force-stop" in {r.name for r in pr.RULES if r.advisory}


def test_duplicate_minor_on_a_node_is_refused(stack):
    stack.get("gw2-drbd")["minor"] = 0
    text = messages(stack.findings("drbd-unique-port-minor"))
    assert "DRBD resource gw2 uses minor 0 (/dev/drbd0) on node1.lab5.decoursey.com, already used by gw1" in text


def test_duplicate_port_on_a_node_is_refused(stack):
    stack.get("pg2-drbd")["ports"] = [7797, 7800]
    assert "listens on port 7797 on node1.lab5.decoursey.com, already used by pg1" in messages(
        stack.findings("drbd-unique-port-minor"))


def test_same_minor_on_other_nodes_is_fine(stack):
    assert stack.get("pgcluster-drbd")["minor"] == stack.get("gw1-drbd")["minor"] == 0
    assert stack.findings("drbd-unique-port-minor") == []


def test_fencing_dont_care_is_refused(stack):
    gc = stack.get("lab5-drbd-global-common")
    gc["content"] = gc["content"].replace("fencing resource-and-stonith;", "fencing dont-care;")
    found = stack.findings("drbd-fencing")
    assert len(found) == 6 and "fencing policy is dont-care" in found[0].message


def test_missing_fence_peer_handler_is_refused(stack):
    gc = stack.get("pgcluster-drbd-global-common")
    gc["content"] = "\n".join(l for l in gc["content"].splitlines() if not l.strip().startswith("fence-peer"))
    found = stack.findings("drbd-fencing")
    assert len(found) == 1 and "no fence-peer handler" in found[0].message


def test_missing_global_common_is_refused(stack):
    stack.drop("pgcluster-drbd-global-common")
    text = messages(stack.findings("drbd-fencing"))
    assert "fencing policy is unset (dont-care)" in text and "no fence-peer or after-resync-target handler" in text


def test_drbd_clone_meta_is_enforced(stack):
    stack.spec("pg1-drbd-clone")["promotable"]["meta"]["promoted-max"] = "2"
    stack.spec("pgcluster-drbd-clone")["promotable"]["meta"]["clone-max"] = "3"
    text = messages(stack.findings("drbd-clone-meta"))
    assert "drbd-pg1-clone: promoted-max=2" in text and "drbd-pgdata-clone: clone-max=3" in text


def test_drbd_not_promotable_is_refused(stack):
    stack.spec("gw1-drbd-clone")["promotable"] = None
    assert "drbd-gw1: ocf:linbit:drbd is not a promotable clone" in messages(stack.findings("drbd-clone-meta"))


# ---- constraint chains --------------------------------------------------------------------------
def test_vm_without_colocation_is_refused(stack):
    stack.drop("pg1-colocation")
    assert "pg1-vm is not colocated with a promoted DRBD clone" in messages(stack.findings("vm-follows-promoted-drbd"))


def test_vm_colocated_with_unpromoted_role_is_refused(stack):
    stack.spec("pg1-colocation")["with_role"] = "Started"
    assert "pg1-vm is not colocated" in messages(stack.findings("vm-follows-promoted-drbd"))


def test_vm_without_order_is_refused(stack):
    stack.drop("pg1-order")
    assert "pg1-vm is colocated with drbd-pg1-clone but not ordered after its promotion" in messages(
        stack.findings("vm-follows-promoted-drbd"))


def test_vm_following_another_vms_disk_is_refused(stack):
    stack.spec("pg1-colocation")["with_resource"] = "drbd-gw1-clone"
    stack.spec("pg1-order")["first"] = "drbd-gw1-clone"
    text = messages(stack.findings("vm-follows-promoted-drbd"))
    assert "pg1-vm's domain uses /dev/drbd4 but it follows drbd-gw1-clone (DRBD gw1, /dev/drbd0)" in text


@pytest.mark.parametrize("dropped, expected", [
    ("pgcluster-ord-drbd-pgdata-clone-then-pgdata-fs", "pgdata-fs is not ordered after promote of drbd-pgdata-clone"),
    ("pgcluster-col-pgdata-fs-with-drbd-pgdata-clone", "pgdata-fs is not colocated with Promoted drbd-pgdata-clone"),
    ("pgcluster-ord-pgdata-fs-then-pgsql", "pgsql is not ordered after start of pgdata-fs"),
    ("pgcluster-col-pgsql-with-pgdata-fs", "pgsql is not colocated with pgdata-fs"),
    ("pgcluster-ord-pgsql-then-pgvip", "pgvip is not ordered after start of pgsql"),
    ("pgcluster-col-pgvip-with-pgsql", "pgvip is not colocated with pgsql"),
])
def test_guest_chain_link_missing_is_refused(stack, dropped, expected):
    stack.drop(dropped)
    found = stack.findings("guest-chain-complete")
    assert len(found) == 1 and expected in found[0].message


def test_guest_chain_without_vip_is_refused(stack):
    stack.drop("pgcluster-pgvip")
    assert "no IPaddr2 resource" in messages(stack.findings("guest-chain-complete"))


# ---- firewall -----------------------------------------------------------------------------------
def test_a_database_opening_without_sources_is_refused_by_the_model(stack):
    """An Opening names at least one source: one with none is no opening (props-valid), not an
    opening to nobody."""
    openings = stack.get("pgcluster-firewall-pg1")["openings"]["pg1"]
    i = next(i for i, o in enumerate(openings) if o["purpose"] == "postgresql clients")
    openings[i]["sources"] = []
    [found] = stack.findings("props-valid")
    assert found.resource == "pgcluster-firewall-pg1"
    assert f"openings.pg1[{i}].sources: Tuple should have at least 1 item" in found.message


def test_guest_firewalls_without_database_clients_are_an_advisory_naming_the_field(stack):
    assert stack.findings("guest-database-clients") == []  # lab5 opens 5432 to 10.0.5.0/24
    for node in ("pg1", "pg2"):
        openings = stack.get(f"pgcluster-firewall-{node}")["openings"][node]
        openings[:] = [o for o in openings if o["purpose"] != "postgresql clients"]
    found = stack.findings("guest-database-clients")
    assert [f.resource for f in found] == ["pgcluster-firewall-pg1", "pgcluster-firewall-pg2"]
    assert "port 5432" in found[0].message and "guest.firewall.database_clients" in found[0].message
    assert next(r for r in pr.RULES if r.name == "guest-database-clients").advisory
    # a guest layer with no firewall at all opens nothing either
    for node in ("pg1", "pg2"):
        stack.drop(f"pgcluster-firewall-{node}")
    found = stack.findings("guest-database-clients")
    assert [f.resource for f in found] == ["pgcluster-corosync"] and "has no Firewall" in found[0].message


def test_no_guest_layer_no_database_finding(stack):
    stack.resources = [r for r in stack.resources if r.props.get("layer") != "guest"]
    assert stack.findings("guest-database-clients") == []


# ---- secrets ------------------------------------------------------------------------------------
def test_plain_fence_password_is_refused(stack):
    stack.secrets["lab5-fence-node1"] = set()
    found = stack.findings("fence-secrets-are-secret")
    assert len(found) == 1 and found[0].resource == "lab5-fence-node1"
    assert "secret_values.password is plain text" in found[0].message


def test_secret_marked_per_value_is_accepted(stack):
    stack.secrets["lab5-fence-node1"] = {("secret_values", "password")}
    assert stack.findings("fence-secrets-are-secret") == []


def test_password_in_params_is_refused(stack):
    stack.spec("lab5-fence-node2")["params"]["password"] = "calvin"
    assert "fence-node2: parameter password carries a plain-text value" in messages(
        stack.findings("fence-secrets-are-secret"))


def test_plain_fence_key_file_is_refused(stack):
    stack.secrets["pgcluster-fence-key"] = set()
    assert "/etc/fence-agent/id_ed25519: a key file" in messages(stack.findings("fence-secrets-are-secret"))


def test_a_plain_first_boot_seed_is_refused(stack):
    assert stack.findings("fence-secrets-are-secret") == []  # lab5 passes pg1's and pg2's user-data as secrets
    stack.secrets["pg1-first-boot"] = set()
    found = stack.findings("fence-secrets-are-secret")
    assert [f.resource for f in found] == ["pg1-first-boot"] and "user_data (the VM's SSH host key" in found[0].message


def test_private_key_content_is_recognised_without_the_flag(stack):
    stack.add("RemoteFile", "stray-key", {"layer": "guest", "nodes": [], "path": "/var/lib/ops/.ssh/id_rsa",
                                          "content": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"})
    assert "/var/lib/ops/.ssh/id_rsa" in messages(stack.findings("fence-secrets-are-secret"))


def test_unknown_secretness_is_reported_not_passed(stack):
    found = pr.check_secrets(stack.resources, {}, None)
    assert len(found) == 1 and "cannot tell secret from plain" in found[0].message


def test_split_secrets_records_paths():
    class S:
        def __init__(self, v):
            self.value = v

    plain, paths = pr.split_secrets({"a": S("x"), "b": [1, S({"c": 2})]}, is_secret=lambda v: isinstance(v, S),
                                    unwrap=lambda v: v.value)
    assert plain == {"a": "x", "b": [1, {"c": 2}]}
    assert paths == {("a",), ("b", 1)}


# ---- the alert feed -----------------------------------------------------------------------------
def test_lab5_alerts_from_both_layers_through_the_agent_it_installs(stack):
    assert stack.findings("alert-path-per-layer") == []
    assert "alert-path-per-layer" in {r.name for r in pr.RULES if r.advisory}


def test_a_layer_without_alerts_is_warned_about(stack):
    stack.get("pgcluster-cluster-config")["alerts"] = []
    [found] = stack.findings("alert-path-per-layer")
    assert found.resource == "pgcluster-cluster-config"
    assert "the guest cluster has no Pacemaker alert" in found.message and "alert_layers" in found.message


def test_an_alert_whose_agent_nothing_installs_is_warned_about(stack):
    """lab5 without hastack:monitoring: its alerts run /usr/local/bin/alert_nsca.sh, which no one writes."""
    stack.drop("lab5-alert-agent")
    [found] = stack.findings("alert-path-per-layer")
    assert found.resource == "lab5-cluster-config"
    assert "alert nsca-alert runs /usr/local/bin/alert_nsca.sh, which no resource of the stack installs on the " \
           "hypervisor nodes" in found.message
