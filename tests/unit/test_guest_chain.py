"""The guest chain as data: GUEST_CHAIN plus the config's chain_extras, validated, placed by `after`."""
from __future__ import annotations

import copy

import pytest

from hastack.config.load import raw_config, stack_file, unseal, validate
from hastack.layout import guest_objects
from hastack.reports import ConfigError

POOLER = {"id": "pgbouncer", "after": "pgsql", "agent": "ocf:heartbeat:anything",
          "params": {"binfile": "/usr/bin/pgbouncer"}, "ops": [{"name": "monitor", "interval": "10s"}]}


@pytest.fixture()
def raw(root):
    return unseal(raw_config(stack_file("lab5", root)))


def with_extras(raw, *extras):
    changed = copy.deepcopy(raw)
    changed["guest"]["chain_extras"] = list(extras)
    return validate(changed, "Pulumi.test.yaml")


def test_lab5_chain_is_the_seeds(lab5_config):
    objects = guest_objects(lab5_config.guest)
    assert [s.id for s in objects.chain] == ["pgdata-fs", "pgsql", "pgvip"]
    assert (objects.filesystem.id, objects.pgsql.id, objects.vip.id) == ("pgdata-fs", "pgsql", "pgvip")


def test_an_extra_link_starts_after_the_one_it_names_and_before_the_rest(raw):
    exporter = {**POOLER, "id": "pgexporter", "after": "pgbouncer", "agent": "systemd:postgres_exporter"}
    objects = guest_objects(with_extras(raw, POOLER, exporter).guest)
    assert [s.id for s in objects.chain] == ["pgdata-fs", "pgsql", "pgbouncer", "pgexporter", "pgvip"]
    assert [(o.first, o.first_action, o.then) for o in objects.orders] == [
        ("drbd-pgdata-clone", "promote", "pgdata-fs"), ("pgdata-fs", "start", "pgsql"), ("pgsql", "start", "pgbouncer"),
        ("pgbouncer", "start", "pgexporter"), ("pgexporter", "start", "pgvip")]
    assert [(c.id, c.with_role) for c in objects.colocations][-1] == ("col-pgvip-with-pgexporter", None)
    pooler = objects.chain[2]
    assert pooler.disabled and pooler.params == {"binfile": "/usr/bin/pgbouncer"}  # enabled once constrained


@pytest.mark.parametrize("extra, expected", [
    ({"after": "pgsq"}, "guest.chain_extras[0].after 'pgsq' is not a link of the chain before it: use one of "
                        "['pgdata-fs', 'pgsql', 'pgvip']"),
    ({"id": "pgvip"}, "guest.chain_extras[0].id 'pgvip' is already a link of the guest chain"),
    ({"agent": "stonith:fence_ipmilan"}, "is a fence agent: a fence device is no chain link"),
    ({"agent": "ocf heartbeat anything"}, "is not a resource agent: write ocf:<provider>:<type>"),
    ({"ops": []}, "pgbouncer has no monitor op, so Pacemaker would never notice it failed"),
    ({"ops": [{"name": "monitor", "interval": "0s"}]}, "a monitor with interval 0s never runs again"),
    ({"ops": [{"name": "monitor", "interval": "10s"}, {"name": "start", "interval": "5s"}]},
     "start runs once, so its interval is 0s"),
    ({"ops": [{"name": "monitor", "interval": "10s"}, {"name": "monitor", "interval": "10000ms"}]},
     "used twice; Pacemaker tells a resource's operations apart by name and interval"),
    ({"meta": {"resource-stickyness": "1"}}, "resource-stickyness"),
])
def test_a_wrong_extra_link_is_refused_naming_field_value_and_fix(raw, extra, expected):
    with pytest.raises(ConfigError) as caught:
        with_extras(raw, {**POOLER, **extra})
    assert "hastack:guest" in str(caught.value) and expected in str(caught.value)


def test_two_extras_after_one_link_are_refused_with_the_order_to_write(raw):
    with pytest.raises(ConfigError) as caught:
        with_extras(raw, POOLER, {**POOLER, "id": "pgexporter"})
    assert ("guest.chain_extras[1].after 'pgsql': pgbouncer already starts right after pgsql and the chain is one "
            "line: write after: pgbouncer") in str(caught.value)


def test_the_policy_without_a_declared_chain_falls_back_to_the_built_in_links(lab5_config):
    from commands.render import policy_resources
    from hastack import policy_rules

    resources, secrets = policy_resources(lab5_config, "lab5")
    config = next(r for r in resources if r.name == "pgcluster-cluster-config")
    assert config.props["chain"] == ["pgdata-fs", "pgsql", "pgvip"]
    undeclared = [policy_rules.Resource(r.type, r.name, {k: v for k, v in r.props.items() if k != "chain"})
                  if r is config else r for r in resources]
    assert policy_rules.check_guest_chain(undeclared) == []
    unbuilt = [r for r in resources if r.name != "pgcluster-pgsql"]
    [finding] = policy_rules.check_guest_chain(unbuilt)
    assert "guest cluster has no pgsql resource: the chain promote -> Filesystem -> pgsql -> IPaddr2" in finding.message
