"""Providers' Pulumi methods (check, diff, create, read, update, delete) against scripted
transports (no hosts), and the Pacemaker providers' plans and readings."""
from __future__ import annotations

import re
import shlex

import dill
import pytest

from hastack.apply import apply_live
from hastack.config.models import DrbdOptions
from hastack.plan import CLUSTER
from hastack.reports import HastackError
from hastack.resources import corosync_cluster as corosync
from hastack.resources import drbd_resource as drbd
from hastack.resources import logical_volume
from hastack.resources import registry
from hastack.transport import Result
from hastack.transport.scripted import ScriptedTransport
from providers.corosync_cluster import CorosyncClusterProvider
from providers.drbd_resource import DrbdResourceProvider
from providers.logical_volume import LogicalVolumeProvider
from providers.pcs_constraint import PcsConstraintProvider
from providers.pcs_resource import PcsResourceProvider
from tests.conftest import FakeClock

NODES = [{"name": "node1", "ssh": {"host": "127.0.0.1", "port": 2201, "known_hosts_file": "x"}},
         {"name": "node2", "ssh": {"host": "127.0.0.1", "port": 2202, "known_hosts_file": "x"}}]


def drbd_props(**over) -> dict:
    base = dict(layer="hypervisor", nodes=NODES, name="pg1", minor=4, disk="/dev/vg-data/lv-pg1",
                hosts=(("node1.x", ("10.77.2.1", "10.77.3.1")), ("node2.x", ("10.77.2.2", "10.77.3.2"))),
                ports=(7797, 7798), options=DrbdOptions(dialect="9"), preferred_node="node1")
    base.update(over)
    return drbd.DrbdResourceProps.model_validate(base).model_dump(mode="json", exclude_none=True)


def lv_props(size="32M") -> dict:
    return {"layer": "hypervisor", "nodes": NODES, "volume_group": "vg", "name": "lv-pg1", "size": size}


def untouched(props):
    pytest.fail("a host was touched")


def scripted(**answers):
    """connect= for a provider: the nodes' scripted transports (and node1 as the cluster)."""
    nodes = {n: ScriptedTransport(n, answers=answers.get(n)) for n in ("node1", "node2")}
    nodes[CLUSTER] = nodes["node1"]
    return nodes, lambda props: nodes.__getitem__


def test_a_grown_size_is_an_update_in_place():
    diff = DrbdResourceProvider().diff("pg1", drbd_props(size="16M"), drbd_props(size="32M"))
    assert diff.changes and diff.replaces == []
    diff = LogicalVolumeProvider().diff("vg/lv-pg1", lv_props("16M"), lv_props("32M"))
    assert diff.changes and diff.replaces == []


def test_a_vms_drbd_resource_carries_its_lv_size_and_waits_for_its_lv(lab5_config, monkeypatch):
    """What orders the resize after both lvextends: the DRBD resource depends on the LV (and on
    both hypervisors' firewalls, which open its port)."""
    import components.protected_vm as protected_vm
    from commands.render import record_stack

    seen, real = {}, protected_vm.DrbdResource

    def recording(name, props, opts=None):
        seen[props["name"]] = (props["size"], [type(d).__name__ for d in opts.depends_on])
        return real(name, props, opts)

    monkeypatch.setattr(protected_vm, "DrbdResource", recording)
    record_stack(lab5_config, "lab5")
    assert seen == {vm.name: (vm.lv_size, ["LogicalVolume", "Firewall", "Firewall"]) for vm in lab5_config.vms}


def test_a_drbd_shrink_is_refused_before_any_host_is_touched():
    with pytest.raises(HastackError) as caught:
        DrbdResourceProvider(connect=untouched).update("pg1", drbd_props(size="32M"), drbd_props(size="16M"))
    assert caught.value.code == "DRBD_SHRINK"
    assert str(caught.value) == ("DRBD_SHRINK: DRBD resource pg1: shrinking 32M -> 16M would destroy the VM's data; "
                                 "hastack only grows volumes")


def test_a_drbd_state_recorded_before_size_neither_resizes_nor_replaces():
    """The first `up` after `size` came: recorded without a host touched, never a replace."""
    news = drbd_props(size="32M")
    olds = {k: v for k, v in news.items() if k != "size"}
    diff = DrbdResourceProvider().diff("pg1", olds, news)
    assert diff.changes and diff.replaces == []  # an update, so the state records the size
    assert DrbdResourceProvider(connect=untouched).update("pg1", olds, news).outs["size"] == "32M"


def test_read_records_the_live_state_apart_from_the_inputs_and_diff_compares_with_it():
    lvs = "lvs --noheadings"
    nodes, connect = scripted(node1={lvs: Result(0, "33554432\n", "")}, node2={lvs: Result(0, "25165824\n", "")})
    provider, news = LogicalVolumeProvider(connect=connect), lv_props("32M")
    read = provider.read("vg/lv-pg1", {**news, "__provider": "P"})
    assert read.id == "vg/lv-pg1"
    assert read.outs == {**news, "__provider": "P", "live": {"sizes": {"node1": 32 * 2**20, "node2": 24 * 2**20}}}
    diff = provider.diff("vg/lv-pg1", read.outs, news)
    assert diff.changes and diff.replaces == []  # drift: repaired by an update, never a replace
    assert provider.update("vg/lv-pg1", read.outs, news).outs == news  # applied: no `live` recorded
    assert nodes["node2"].calls[-1] == shlex.join(logical_volume.extend_argv(logical_volume.PROPS(**news)))
    # as configured everywhere: no change; gone everywhere: dropped from the state
    nodes["node2"].answers[lvs] = Result(0, "33554432\n", "")
    assert not provider.diff("vg/lv-pg1", provider.read("vg/lv-pg1", read.outs).outs, news).changes
    for node in ("node1", "node2"):
        nodes[node].answers[lvs] = Result(5, "", "not found")
    assert provider.read("vg/lv-pg1", read.outs).id is None


def test_differing_authkeys_stop_up_without_a_replace_and_without_a_host_touched():
    """A replace would stop Pacemaker and every VM on both nodes; picking a key could cut off the
    node whose key is dropped.  refresh shows it, up stops with what to do by hand."""
    props = corosync.CorosyncClusterProps(layer="hypervisor", nodes=NODES, cluster_name="lab",
                                          ring_addresses={"node1": ("10.0.0.1",), "node2": ("10.0.0.2",)})
    news = props.model_dump(mode="json")
    nodes, connect = scripted()
    for name, key in (("node1", b"a" * 256), ("node2", b"b" * 256)):
        nodes[name].files.update({corosync.CONF: corosync.conf_text(props).encode(), corosync.AUTHKEY: key})
    refreshed = CorosyncClusterProvider(connect=connect).read("lab", news).outs
    assert refreshed["live"]["authkey_differs_on"] == ["node1", "node2"]
    # and as hastack before `live` recorded the same drift, in a props field
    legacy = {**news, "authkey": "authkeys differ between node1 and node2"}
    for olds in (refreshed, legacy):
        diff = CorosyncClusterProvider().diff("lab", olds, news)
        assert diff.changes and diff.replaces == []
        with pytest.raises(HastackError) as caught:
            CorosyncClusterProvider(connect=untouched).update("lab", olds, news)
        assert caught.value.code == "AUTHKEY_DIFFERS" and "node1 and node2" in str(caught.value)
    # a stack recorded before the field existed, or whose keys agreed: no change
    for olds in (news, {**news, "authkey": "shared"}):
        assert not CorosyncClusterProvider().diff("lab", olds, news).changes
    assert "authkey" not in CorosyncClusterProvider(connect=connect).read("lab", legacy).outs


@pytest.fixture(scope="module")
def host_resources(lab5_config):
    """(type, name, inputs as the provider gets them) of every host resource of lab5."""
    from commands.render import plain, record_stack

    recorded = ((registry.hastack_type(r.typ), r) for r in record_stack(lab5_config, "lab5"))
    return [(t, r.name, plain(r.inputs)) for t, r in recorded if t in registry.HOST_TYPES]


# How hastack before `live` recorded drift in the state on refresh: field -> its description.
LEGACY_DRIFT = {
    "LogicalVolume": {"size": "{{'node2': 25165824}}"},
    "DrbdResource": {"options": "(/etc/drbd.d/pg1.res edited on node2)", "hosts": "(no /etc/drbd.d/pg1.res on node1)"},
    "LibvirtDomain": {"xml": "(not defined on node1)"},
    "SelinuxModule": {"te": "(installed source differs on node1)"},
    "SystemAccount": {"account": "{account} (missing on a node)", "linger": "1 of 2 nodes linger"},
    "RemoteFile": {"content": "(changed on node1; sha256 0123456789ab)"},
    "SystemdUnit": {"enabled": "{enabled!r}"},
    "CorosyncCluster": {"ring_addresses": "(/etc/corosync/corosync.conf differs on node1)",
                        "authkey": "authkeys differ between node1 and node2"},
    "DrbdAgentPatch": {"agent_path": "{agent_path} (unpatched on node1)"},
}
BORN_WITH_LIVE = {"Firewall", "HostsEntries", "HostPreflight", "VmFirstBoot", "NagiosObjects", "SelinuxBooleans",
                  "OcfHelperLinks"}  # no hastack before `live` had them: no legacy state to read


def test_state_written_before_live_diffs_without_a_spurious_change_or_replace(host_resources):
    """A stack made by hastack before `live`: its outputs are its inputs (plus `selinux_mode`),
    and after a refresh that found drift, descriptions in props fields.  The first diff of the
    new code sees no change in the one, an update (never a replace) in the other, whose plan
    takes each such field as configured."""
    import importlib

    seen = set()
    for type_name, name, news in host_resources:
        module = importlib.import_module(f"providers.{registry.module_name(type_name)}")
        provider = getattr(module, f"{type_name}Provider")()
        olds = {**news, "__provider": "P", **({"selinux_mode": {"node1": "Disabled"}} if type_name == "SelinuxModule" else {})}
        diff = provider.diff(name, olds, news)
        assert not diff.changes and diff.replaces == [], name
        seen.add(type_name)
        if type_name in BORN_WITH_LIVE:
            continue
        wanted = provider._props(news)
        drifted = {**olds, **{f: not wanted.enabled if f == "enabled" else v.format(**wanted.model_dump())
                              for f, v in LEGACY_DRIFT[type_name].items()}}
        diff = provider.diff(name, drifted, news)
        assert diff.changes and diff.replaces == [], name
        old = provider._props(provider._as_configured(drifted, news)[0])
        # a description is taken as configured; `enabled` held the live value, a value
        assert all(getattr(old, f) == getattr(wanted, f) for f in LEGACY_DRIFT[type_name] if f not in ("authkey", "enabled")), name
    assert seen == set(registry.HOST_TYPES)


def test_a_cib_state_written_before_live_diffs_without_a_change(lab5_config):
    """A CIB resource as hastack before `live` recorded it after create or update (its outputs
    its inputs): no change, no replace, and read keeps the inputs as they are."""
    from commands.render import plain, provider_class, record_stack

    answers = {"cibadmin --query": Result(0, "<cib><configuration/></cib>", "")}
    connect = lambda props: lambda target: ScriptedTransport("node1", answers=answers)  # noqa: E731
    seen = set()
    for resource in record_stack(lab5_config, "lab5"):
        type_name = registry.hastack_type(resource.typ)
        if type_name is None or type_name in registry.HOST_TYPES or type_name in registry.STATE_TYPES:
            continue
        news = plain(resource.inputs)
        olds = {**news, "__provider": "P"}
        diff = provider_class(type_name)().diff(resource.name, olds, news)
        assert not diff.changes and diff.replaces == [], resource.name
        if type_name == "PcsClusterConfig":  # never gone: its live state is what the CIB holds of it
            outs = provider_class(type_name)(connect=connect).read(resource.name, olds).outs
            assert {k: v for k, v in outs.items() if k != "live"} == olds and provider_class(type_name)().diff(
                resource.name, outs, news).changes  # an empty CIB holds none of it
        seen.add(type_name)
    assert seen == set(registry.TYPES) - set(registry.HOST_TYPES) - set(registry.STATE_TYPES)


def test_an_lv_update_after_an_old_refresh_grows_to_the_configured_size():
    """A refreshed LV's size held the drift ("{'node2': 25165824}"): never parsed as a size."""
    nodes, connect = scripted()
    LogicalVolumeProvider(connect=connect).update("vg/lv-pg1", {**lv_props(), "size": "{'node2': 25165824}"}, lv_props())
    extend = shlex.join(logical_volume.extend_argv(logical_volume.PROPS(**lv_props())))
    assert [n.calls for n in (nodes["node1"], nodes["node2"])] == [[extend]] * 2 and extend.endswith("vg/lv-pg1 33554432 32M")


def test_providers_are_pickled_by_reference():
    """The state holds a class reference (so refresh and delete run the current code), not the
    class, its module or a transport."""
    for type_name in registry.TYPES:
        from commands.render import provider_class

        pickled = dill.dumps(provider_class(type_name)(), recurse=True)
        assert len(pickled) < 120 and f"{type_name}Provider".encode() in pickled, type_name


def test_the_registry_lists_every_dynamic_resource_and_render_refuses_others():
    import importlib
    import pkgutil

    import pulumi.dynamic

    import providers
    from commands.render import provider_class

    defined = set()
    for module in pkgutil.iter_modules(providers.__path__):
        for value in vars(importlib.import_module(f"providers.{module.name}")).values():
            if isinstance(value, type) and issubclass(value, pulumi.dynamic.Resource) and value is not pulumi.dynamic.Resource:
                defined.add(value._resource_type_name.removeprefix("dynamic/hastack:"))
    assert defined == set(registry.TYPES)
    assert all(provider_class(t).__name__ == f"{t}Provider" for t in registry.TYPES)
    # each provider adapts the core module the registry names (the one the policy pack validates with)
    assert all(provider_class(t).kind is registry.core(t) for t in registry.TYPES)
    with pytest.raises(HastackError, match="UNKNOWN_RESOURCE_TYPE"):
        registry.core("PgBouncer")
    assert registry.hastack_type("hastack:index:ProtectedVM") is None
    with pytest.raises(HastackError, match="UNKNOWN_RESOURCE_TYPE"):
        registry.hastack_type(registry.TOKEN_PREFIX + "PgBouncer")


def test_cluster_wide_commands_run_on_the_cluster_not_as_cib_edits(lab5_render):
    """A resource update = CIB patch + cleanup, a delete = patch + wait: the plain commands go
    to the cluster's transport (this failed live: every CLUSTER step was taken for a CIB edit)."""
    from hastack.layout import vm_objects
    from hastack.config.load import load_stack

    spec = vm_objects(load_stack("lab5").vm("pg1"), load_stack("lab5").hypervisor).domain
    provider = PcsResourceProvider()
    props = provider._props(_pcs_props(spec))
    cluster = ScriptedTransport("node1/node2", answers={
        "cibadmin --query": Result(0, (lab5_render / "hypervisor/cib.xml").read_text(), "")})
    changed = props.model_copy(update={"spec": spec.model_copy(update={"meta": {"allow-migrate": "false"}})})
    apply_live(provider.plan_update(props, changed, None), lambda target: cluster)
    assert cluster.calls[-1] == "crm_resource --cleanup --resource pg1-vm"
    assert any(c.startswith("sh -c") for c in cluster.calls)  # the guarded patch
    apply_live(provider.plan_delete(props), lambda target: cluster)
    assert cluster.calls[-1] == "crm_resource --wait --timeout=300s"


def _pcs_props(spec):
    return {"layer": "hypervisor", "nodes": NODES, "spec": spec.model_dump()}


def test_cib_objects_read_back_without_drift_and_with_it(lab5_render, lab5_config):
    """read records what the CIB holds in `live`, the inputs untouched; diff compares with it."""
    from hastack.layout import vm_objects

    cib = (lab5_render / "hypervisor/cib.xml").read_text()
    objects = vm_objects(lab5_config.vm("pg1"), lab5_config.hypervisor)
    answers = {"cibadmin --query": Result(0, cib, "")}
    connect = lambda props: lambda target: ScriptedTransport("node1", answers=answers)  # noqa: E731
    resource, constraint = PcsResourceProvider(connect=connect), PcsConstraintProvider(connect=connect)

    def refreshed(provider, spec):
        props = _pcs_props(spec)
        read = provider.read(spec.id, props)
        if read.id is not None:
            assert {k: v for k, v in read.outs.items() if k != "live"} == props
        return read.id and (read.outs["live"], provider.diff(spec.id, read.outs, props).changes)

    for spec in (objects.drbd_clone, objects.domain, objects.location):
        live, changes = refreshed(resource if spec is not objects.location else constraint, spec)
        assert not changes and live["spec"]["id"] == spec.id
    # A hand edit (score 100 -> 50) is drift, shown in the spec's own shape.
    edited = cib.replace('id="loc-pg1-vm-prefers-node1" rsc="pg1-vm" node="node1.lab5.decoursey.com" score="100"',
                         'id="loc-pg1-vm-prefers-node1" rsc="pg1-vm" node="node1.lab5.decoursey.com" score="50"')
    assert edited != cib
    answers["cibadmin --query"] = Result(0, edited, "")
    live, changes = refreshed(constraint, objects.location)
    assert changes and live["spec"] == {**objects.location.model_dump(), "score": "50"}
    # A deleted constraint is gone: refresh drops it and the next up recreates it.
    answers["cibadmin --query"] = Result(0, re.sub(r'<rsc_location id="loc-pg1-vm-prefers-node1"[^>]*/>', "", cib), "")
    assert refreshed(constraint, objects.location) is None
    # A changed primitive parameter is drift too.
    answers["cibadmin --query"] = Result(0, cib.replace('name="config" value="/etc/libvirt/qemu/pg1.xml"',
                                                        'name="config" value="/tmp/pg1.xml"'), "")
    live, changes = refreshed(resource, objects.domain)
    assert changes and live["spec"]["params"]["config"] == "/tmp/pg1.xml"


def test_diff_replaces_only_what_cannot_change_in_place():
    provider = PcsResourceProvider()
    old = {"spec": {"id": "pg1-vm", "agent": "VirtualDomain", "params": {"a": "1"}, "promotable": None}}
    new = {"spec": {"id": "pg1-vm", "agent": "VirtualDomain", "params": {"a": "2"}, "promotable": None}}
    result = provider.diff("pg1-vm", old, new)
    assert result.changes and not result.replaces
    new["spec"]["agent"] = "ocf:heartbeat:Dummy"
    assert provider.diff("pg1-vm", old, new).replaces == ["spec"]
    assert not provider.diff("pg1-vm", old, dict(old)).changes


def _crm_mon(resource_xml: str, failures: str = "") -> Result:
    """crm_mon --output-as=xml of two online nodes and one resource, as wait_until_running reads it."""
    return Result(0, '<pacemaker-result><nodes><node name="node1" online="true" type="member"/>'
                     '<node name="node2" online="true" type="member"/></nodes>'
                     f"<resources>{resource_xml}</resources><failures>{failures}</failures></pacemaker-result>", "")


STOPPED = '<resource id="gw1-vm" resource_agent="ocf:heartbeat:VirtualDomain" role="Stopped" active="false" failed="false"/>'
FAILED_START = ('<failure op_key="gw1-vm_start_0" node="node1" exitstatus="error" exitcode="1" task="start" '
                'status="complete" exitreason="disk missing"/>')


def test_start_wait_polls_and_undoes_through_the_transport_it_is_given():
    """Not running within wait_s: the undo runs on the cluster's transport, and the error carries
    Pacemaker's failed actions and what is left."""
    from hastack.plan import Run, on
    from hastack.start_wait import wait_running_or_undo

    cluster = ScriptedTransport("node1", answers={"crm_mon": _crm_mon(STOPPED, FAILED_START)})
    clock = FakeClock()
    undo = on(CLUSTER, Run(("crm_resource", "--cleanup", "--resource", "gw1-vm")))
    with pytest.raises(HastackError) as caught:
        wait_running_or_undo(lambda target: cluster, "gw1-vm", 30, undo, "gw1-vm was disabled again",
                             interval_s=10, clock=clock, sleep=clock.sleep)
    assert caught.value.code == "NOT_RUNNING" and clock.now == 30
    assert "start on node1: complete (exit 1 error, disk missing)" in caught.value.message
    assert caught.value.message.endswith("so gw1-vm was disabled again")
    assert cluster.calls == (["crm_mon -1 --output-as=xml"] * 4 + ["crm_simulate -Ls", "cibadmin --query --scope constraints"]
                             + [shlex.join(undo[0][1].argv)])


def test_a_waiting_provider_polls_through_its_injected_transport():
    """The wait goes where the edit went: the provider's `connect`, never SSH of its own."""
    from hastack.pacemaker.enable import PcsResourceEnableProps
    from providers.pcs_resource_enable import PcsResourceEnableProvider

    running = '<resource id="gw1-vm" role="Started" active="true" failed="false"><node name="node2"/></resource>'
    cluster = ScriptedTransport("node1", answers={"crm_mon": _crm_mon(running)})
    seen = []
    provider = PcsResourceEnableProvider(connect=lambda props: seen.append(props) or (lambda target: cluster))
    props = PcsResourceEnableProps(layer="hypervisor", nodes=NODES, resource_id="gw1-vm", start_wait_s=900)
    provider._wait(props)
    assert seen == [props] and cluster.calls == ["crm_mon -1 --output-as=xml"]
    # had it not started, the undo would disable it again (one CIB edit)
    from hastack.pacemaker import enable
    _rid, _wait_s, undo, outcome = enable.start_wait(props, created=True)
    [(target, step)] = undo
    assert target == CLUSTER and step.commands == (("resource", "disable", "gw1-vm"),) and "disabled again" in outcome


def test_enable_without_a_start_wait_does_not_poll():
    from hastack.pacemaker.enable import PcsResourceEnableProps
    from providers.pcs_resource_enable import PcsResourceEnableProvider

    cluster = ScriptedTransport("node1")
    PcsResourceEnableProvider(connect=lambda props: lambda target: cluster)._wait(
        PcsResourceEnableProps(layer="hypervisor", nodes=NODES, resource_id="gw1-vm"))
    assert cluster.calls == []


def test_a_pacemaker_resource_is_stopped_while_still_defined_then_removed():
    """Removed while running, a DRBD clone instance is an orphan that Pacemaker stops without
    its clone meta: the drbd agent refuses the demote and the node gets fenced (seen live)."""
    from hastack.layout import vm_objects
    from hastack.config.load import load_stack
    from hastack.plan import CibEdit

    clone = vm_objects(load_stack("lab5").vm("pg1"), load_stack("lab5").hypervisor).drbd_clone
    plan = PcsResourceProvider().plan_delete(PcsResourceProvider()._props(_pcs_props(clone)))
    steps = [s.commands if isinstance(s, CibEdit) else s.argv for _, s in plan]
    assert steps == [
        (("resource", "disable", "drbd-pg1-clone"),),
        ("crm_resource", "--wait", "--timeout=300s"),
        (("resource", "delete", "drbd-pg1"),),
        ("crm_resource", "--wait", "--timeout=300s"),
    ]


