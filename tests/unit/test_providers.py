"""Providers' plans and readings, against scripted transports (no hosts)."""
from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from hastack.apply import apply_live
from hastack.config.models import DrbdOptions
from hastack.plan import CLUSTER, Put, Run
from hastack.reports import HastackError
from hastack.transport import Result
from hastack.transport.scripted import ScriptedTransport
from providers.drbd_resource import RESIZE, DrbdResourceProps, DrbdResourceProvider, res_path
from providers.logical_volume import LogicalVolumeProps, LogicalVolumeProvider
from providers.pcs_constraint import PcsConstraintProvider
from providers.pcs_resource import PcsResourceProvider

NODES = [{"name": "node1", "ssh": {"host": "127.0.0.1", "port": 2201, "known_hosts_file": "x"}},
         {"name": "node2", "ssh": {"host": "127.0.0.1", "port": 2202, "known_hosts_file": "x"}}]


def drbd_props(**over) -> DrbdResourceProps:
    base = dict(layer="hypervisor", nodes=NODES, name="pg1", minor=4, disk="/dev/vg-data/lv-pg1",
                hosts=(("node1.x", ("10.77.2.1", "10.77.3.1")), ("node2.x", ("10.77.2.2", "10.77.3.2"))),
                ports=(7797, 7798), options=DrbdOptions(dialect="9"), preferred_node="node1",
                initial_fill=(("qemu-img", "convert", "-O", "raw", "img", "/dev/drbd4"),))
    base.update(over)
    return DrbdResourceProps.model_validate(base)


def commands(plan, target=None):
    return [(t, s.argv if isinstance(s, Run) else ("put", s.path)) for t, s in plan if target in (None, t)]


def test_drbd_fresh_pair_gets_metadata_up_and_one_forced_primary():
    plan = DrbdResourceProvider().plan_create(drbd_props(), {"node1": "new", "node2": "new"})
    steps = commands(plan)
    for node in ("node1", "node2"):
        assert (node, ("put", res_path("pg1"))) in steps
        assert (node, ("drbdadm", "create-md", "--force", "pg1")) in steps
        assert (node, ("drbdadm", "up", "pg1")) in steps
    forced = [s for s in steps if s[1][:2] == ("drbdadm", "primary")]
    assert forced == [("node1", ("drbdadm", "primary", "--force", "pg1"))]
    tail = [s[1][0] for s in steps if s[0] == "node1"][-3:]
    assert tail == ["drbdadm", "qemu-img", "drbdadm"]  # primary, fill, hand back to secondary


@pytest.mark.parametrize("facts", [{"node1": "up-blank", "node2": "new"}, {"node1": "md-blank", "node2": "up-blank"}])
def test_drbd_completes_a_create_that_stopped_before_the_first_primary(facts):
    """A create that failed after node1's create-md and up (seen live: node2's file could not be
    written) left metadata that never held data: the next up still makes the first primary."""
    steps = commands(DrbdResourceProvider().plan_create(drbd_props(), facts))
    assert [s for s in steps if s[1][:2] == ("drbdadm", "primary")] == [("node1", ("drbdadm", "primary", "--force", "pg1"))]
    assert [s[0] for s in steps if s[1][:2] == ("drbdadm", "create-md")] == [n for n, f in facts.items() if f == "new"]
    for node, fact in facts.items():
        assert (node, ("drbdadm", "adjust" if fact.startswith("up") else "up", "pg1")) in steps


@pytest.mark.parametrize("facts", [{"node1": "md", "node2": "new"}, {"node1": "up", "node2": "up"},
                                   {"node1": "up-blank", "node2": "md"}])
def test_drbd_never_overwrites_existing_metadata_or_forces_primary(facts):
    steps = commands(DrbdResourceProvider().plan_create(drbd_props(), facts))
    assert not any(s[1][:2] == ("drbdadm", "primary") for s in steps)
    assert not any(s[1][:2] == ("drbdadm", "create-md") and facts[s[0]] != "new" for s in steps)
    assert not any(s[1][0] == "qemu-img" for s in steps)
    if facts["node1"] == "up":
        assert ("node1", ("drbdadm", "adjust", "pg1")) in steps


def _grow(old_size="16M", new_size="32M"):
    """A VM's lv_size grown: its LV's update, then its DRBD resource's (which depends on the LV)."""
    lv_old = LogicalVolumeProps(layer="hypervisor", nodes=NODES, volume_group="vg-data", name="lv-pg1", size=old_size)
    lv_plan = LogicalVolumeProvider().plan_update(lv_old, lv_old.model_copy(update={"size": new_size}))
    drbd_plan = DrbdResourceProvider().plan_update(drbd_props(size=old_size), drbd_props(size=new_size))
    return lv_plan + drbd_plan


def test_a_grown_lv_size_grows_the_drbd_device_once_after_both_lvs():
    steps = commands(_grow())
    resizes = [i for i, (_, argv) in enumerate(steps) if argv == ("sh", "-c", RESIZE, "sh", "pg1")]
    extends = [i for i, (_, argv) in enumerate(steps) if argv[0] == "lvextend"]
    assert len(resizes) == 1 and steps[resizes[0]][0] == "node1"  # one node: the preferred one
    assert len(extends) == 2 and max(extends) < resizes[0]
    assert sum("resize" in " ".join(argv) for _, argv in steps) == 1
    # in place: no metadata made, nothing taken down or forced
    assert not any(argv[:2] in (("drbdadm", "create-md"), ("drbdadm", "down"), ("drbdadm", "primary"))
                   for _, argv in steps)
    olds, news = drbd_props(size="16M").model_dump(mode="json"), drbd_props(size="32M").model_dump(mode="json")
    diff = DrbdResourceProvider().diff("pg1", olds, news)
    assert diff.changes and diff.replaces == []
    assert "size" not in DrbdResourceProvider.replace_fields


def test_a_vms_drbd_resource_carries_its_lv_size_and_waits_for_its_lv(lab5_config, monkeypatch):
    """What orders the resize after both lvextends: the DRBD resource depends on the LV."""
    import components.protected_vm as protected_vm
    from components.render import record_stack

    seen, real = {}, protected_vm.DrbdResource

    def recording(name, props, opts=None):
        seen[props["name"]] = (props["size"], [type(d).__name__ for d in opts.depends_on])
        return real(name, props, opts)

    monkeypatch.setattr(protected_vm, "DrbdResource", recording)
    record_stack(lab5_config, "lab5")
    assert seen == {vm.name: (vm.lv_size, ["LogicalVolume"]) for vm in lab5_config.vms}


def test_the_same_size_or_no_size_never_resizes():
    provider = DrbdResourceProvider()
    for old, new in ((drbd_props(size="32M"), drbd_props(size="32M")), (drbd_props(), drbd_props())):
        assert not any("resize" in " ".join(argv) for _, argv in commands(provider.plan_update(old, new)))


def test_a_drbd_shrink_is_refused_before_any_host_is_touched(monkeypatch):
    monkeypatch.setattr("providers.base.transports", lambda props: pytest.fail("a host was touched"))
    provider = DrbdResourceProvider()
    olds, news = drbd_props(size="32M").model_dump(mode="json"), drbd_props(size="16M").model_dump(mode="json")
    with pytest.raises(HastackError) as caught:
        provider.update("pg1", olds, news)
    assert caught.value.code == "DRBD_SHRINK"
    assert str(caught.value) == ("DRBD_SHRINK: DRBD resource pg1: shrinking 32M -> 16M would destroy the VM's data; "
                                 "hastack only grows volumes")


def test_a_drbd_state_recorded_before_size_neither_resizes_nor_replaces(monkeypatch):
    """The first `up` after `size` came: recorded without a host touched, never a replace."""
    provider = DrbdResourceProvider()
    news = drbd_props(size="32M").model_dump(mode="json")
    olds = {k: v for k, v in news.items() if k != "size"}
    diff = provider.diff("pg1", olds, news)
    assert diff.changes and diff.replaces == []  # an update, so the state records the size
    monkeypatch.setattr("providers.base.transports", lambda props: pytest.fail("a host was touched"))
    assert provider.update("pg1", olds, news).outs["size"] == "32M"
    # taken as the configured size: nothing to grow, even alongside another change
    faster = {**news, "options": {**news["options"], "resync_rate": "50M"}}
    steps = commands(provider.plan_update(provider._old_props(olds, faster), provider._props(faster)))
    assert ("node1", ("drbdadm", "adjust", "pg1")) in steps
    assert not any("resize" in " ".join(argv) for _, argv in steps)


@pytest.fixture()
def fake_drbdadm(tmp_path):
    """A drbdadm that logs its arguments and answers `cstate` with $CSTATE; `resize` exits
    $RESIZE_RC with $RESIZE_ERR (what DRBD 8.4 prints when no side is Primary)."""
    script = tmp_path / "drbdadm"
    script.write_text('#!/bin/sh\necho "$*" >> "$LOG"\n'
                      'case "$1" in cstate) echo "$CSTATE";; resize) [ -n "$RESIZE_ERR" ] && echo "$RESIZE_ERR" >&2; '
                      'exit "${RESIZE_RC:-0}";; esac\n')
    script.chmod(0o755)

    def host(**env):
        import os
        from hastack.transport.local import LocalTransport

        return LocalTransport("node1", env={"PATH": f"{tmp_path}:{os.environ['PATH']}",
                                            "LOG": str(tmp_path / "log"), **env})
    return host, tmp_path / "log"


def _resize_step():
    return tuple((t, s) for t, s in DrbdResourceProvider().plan_update(drbd_props(size="16M"), drbd_props(size="32M"))
                 if isinstance(s, Run) and s.argv[0] == "sh")


def test_the_resize_runs_only_while_connected_and_says_what_to_do_otherwise(fake_drbdadm):
    host, log = fake_drbdadm
    apply_live(_resize_step(), lambda target: host(CSTATE="Connected"))
    assert log.read_text().splitlines() == ["cstate pg1", "resize pg1"]

    log.unlink()
    with pytest.raises(HastackError) as caught:
        apply_live(_resize_step(), lambda target: host(CSTATE="StandAlone"))
    message = str(caught.value)
    assert message.startswith("COMMAND_FAILED: on node1: `sh -c ") and "exited 3: DRBD resource pg1 is not Connected" in message
    assert "(connection state: StandAlone)" in message and "the next up retries the resize" in message
    assert log.read_text().splitlines() == ["cstate pg1"]  # never resized while not connected

    with pytest.raises(HastackError) as caught:
        apply_live(_resize_step(), lambda target: host(CSTATE="Connected", RESIZE_RC="10",
                                                         RESIZE_ERR="pg1: Failure: (131) Need one Primary node to resize."))
    message = str(caught.value)
    assert "exited 10: pg1: Failure: (131) Need one Primary node to resize." in message
    assert "one side Primary (the VM running); the next up retries the resize." in message


def test_lv_shrink_and_size_mismatch_are_refused():
    provider = LogicalVolumeProvider()
    props = LogicalVolumeProps(layer="hypervisor", nodes=NODES, volume_group="vg-data", name="lv-pg1", size="40G")
    with pytest.raises(HastackError, match="LV_EXISTS"):
        provider.plan_create(props, {"node1": 10 * 2**30, "node2": None})
    smaller = props.model_copy(update={"size": "20G"})
    with pytest.raises(HastackError, match="only grows"):
        provider.plan_update(props, smaller)
    assert commands(provider.plan_create(props, {"node1": 40 * 2**30, "node2": None})) == [
        ("node2", ("lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "-L", "40G", "-n", "lv-pg1", "vg-data"))]


def test_a_failed_step_says_what_was_applied_and_what_is_left():
    hosts = {"node1": ScriptedTransport("node1"), "node2": ScriptedTransport("node2", fail_on="create-md")}
    plan = DrbdResourceProvider().plan_create(drbd_props(), {"node1": "new", "node2": "new"})
    with pytest.raises(HastackError) as caught:
        apply_live(plan, hosts.__getitem__)
    message = str(caught.value)
    assert "on node2: `drbdadm create-md --force pg1` exited 1: scripted failure" in message
    assert "applied before the failure: ['node1: write /etc/drbd.d/pg1.res" in message
    assert "not applied: ['node2: drbdadm up pg1', 'node1: drbdadm primary --force pg1'" in message
    assert not any("primary" in c for c in hosts["node1"].calls)


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
    apply_live(provider.plan_update(props, changed), lambda target: cluster)
    assert cluster.calls[-1] == "crm_resource --cleanup --resource pg1-vm"
    assert any(c.startswith("sh -c") for c in cluster.calls)  # the guarded patch
    apply_live(provider.plan_delete(props), lambda target: cluster)
    assert cluster.calls[-1] == "crm_resource --wait --timeout=300s"


def _pcs_props(spec):
    return {"layer": "hypervisor", "nodes": NODES, "spec": spec.model_dump()}


def test_cib_objects_read_back_without_drift_and_with_it(lab5_render, lab5_config):
    from hastack.layout import vm_objects

    cib = (lab5_render / "hypervisor/cib.xml").read_text()
    objects = vm_objects(lab5_config.vm("pg1"), lab5_config.hypervisor)
    resource, constraint = PcsResourceProvider(), PcsConstraintProvider()
    for spec in (objects.drbd_clone, objects.domain):
        assert resource.observe_cib(resource._props(_pcs_props(spec)), cib) == {}
    location = constraint._props(_pcs_props(objects.location))
    assert constraint.observe_cib(location, cib) == {}
    # A hand edit (score 100 -> 50) is drift, shown in the spec's own shape.
    edited = cib.replace('id="loc-pg1-vm-prefers-node1" rsc="pg1-vm" node="node1.lab5.decoursey.com" score="100"',
                         'id="loc-pg1-vm-prefers-node1" rsc="pg1-vm" node="node1.lab5.decoursey.com" score="50"')
    assert edited != cib
    assert constraint.observe_cib(location, edited)["spec"]["score"] == "50"
    # A deleted constraint is gone: refresh drops it and the next up recreates it.
    deleted = re.sub(r'<rsc_location id="loc-pg1-vm-prefers-node1"[^>]*/>', "", cib)
    assert constraint.observe_cib(location, deleted) is None
    # A changed primitive parameter is drift too.
    changed = cib.replace('name="config" value="/etc/libvirt/qemu/pg1.xml"', 'name="config" value="/tmp/pg1.xml"')
    drift = resource.observe_cib(resource._props(_pcs_props(objects.domain)), changed)
    assert drift["spec"]["params"]["config"] == "/tmp/pg1.xml"


def test_diff_replaces_only_what_cannot_change_in_place():
    provider = PcsResourceProvider()
    old = {"spec": {"id": "pg1-vm", "agent": "VirtualDomain", "params": {"a": "1"}, "promotable": None}}
    new = {"spec": {"id": "pg1-vm", "agent": "VirtualDomain", "params": {"a": "2"}, "promotable": None}}
    result = provider.diff("pg1-vm", old, new)
    assert result.changes and not result.replaces
    new["spec"]["agent"] = "ocf:heartbeat:Dummy"
    assert provider.diff("pg1-vm", old, new).replaces == ["spec"]
    assert not provider.diff("pg1-vm", old, dict(old)).changes


def test_a_half_created_cluster_keeps_its_authkey():
    """Live: a create failed on pg2 after pg1 had its conf and key; the retry gave pg2 a new
    random key and knet split the cluster.  The retry must reuse pg1's key and re-key pg2."""
    from providers.corosync_cluster import AUTHKEY, CorosyncClusterProps, CorosyncClusterProvider, cluster_key

    key_a, key_b = b"A" * 256, b"B" * 256
    assert cluster_key({"pg1": "same", "pg2": "fresh"}, {"pg1": key_a}) == (key_a, {"pg1": "same", "pg2": "fresh"})
    assert cluster_key({"pg1": "same", "pg2": "same"}, {"pg1": key_a, "pg2": key_b}) == (
        key_a, {"pg1": "same", "pg2": "rekey"})
    fresh_key, facts = cluster_key({"pg1": "fresh", "pg2": "fresh"}, {})
    assert len(fresh_key) == 256 and facts == {"pg1": "fresh", "pg2": "fresh"}

    props = CorosyncClusterProps(layer="guest", nodes=NODES, cluster_name="pgcluster",
                                 ring_addresses={"node1": ("10.0.0.1",), "node2": ("10.0.0.2",)})
    plan = CorosyncClusterProvider().plan_create(props, {"node1": "same", "node2": "rekey"}, authkey=key_a)
    node2 = [step for target, step in plan if target == "node2"]
    assert any(isinstance(s, Put) and s.path == AUTHKEY and s.content == key_a and s.secret for s in node2)
    assert not any(isinstance(s, Run) and "rm -f" in " ".join(s.argv) for s in node2)  # its CIB is kept
    assert not any(isinstance(s, Put) and s.path == AUTHKEY for t, s in plan if t == "node1")


def test_an_enabled_resource_that_does_not_start_is_disabled_again(monkeypatch):
    """Pulumi keeps no state of a failed create: the VM must not stay enabled behind its back."""
    import providers.pcs_resource_enable as enable
    import providers.start_wait as start_wait
    from hastack.plan import CibEdit

    applied = []

    def not_running(cluster, rid, timeout_s):
        raise HastackError("NOT_RUNNING", f"{rid} not started within {timeout_s} s; failed actions: start on node1")

    monkeypatch.setattr(start_wait, "transports", lambda props: lambda target: target)
    monkeypatch.setattr(start_wait, "wait_until_running", not_running)
    monkeypatch.setattr(start_wait, "apply_live", lambda plan, transport_for: applied.append(plan))
    props = enable.PcsResourceEnableProps(layer="hypervisor", nodes=NODES, resource_id="gw1-vm", start_wait_s=900)
    with pytest.raises(HastackError) as caught:
        enable.PcsResourceEnableProvider()._wait(props)
    assert "start on node1" in str(caught.value) and "disabled again" in str(caught.value)
    [(target, step)] = applied[0]
    assert target == CLUSTER and isinstance(step, CibEdit)
    assert step.commands == (("resource", "disable", "gw1-vm"),)


def test_enable_without_a_start_wait_does_not_poll(monkeypatch):
    import providers.pcs_resource_enable as enable
    import providers.start_wait as start_wait

    monkeypatch.setattr(start_wait, "wait_until_running", lambda *a: pytest.fail("polled"))
    props = enable.PcsResourceEnableProps(layer="hypervisor", nodes=NODES, resource_id="gw1-vm")
    enable.PcsResourceEnableProvider()._wait(props)


def test_an_update_after_refresh_takes_a_drifted_field_as_configured():
    """After `pulumi refresh`, a field whose live value differed holds read's description of the
    drift (seen live: options = "(/etc/drbd.d/mgmt.res edited on node2)"): the update must still
    plan, putting that field back as configured, instead of failing to validate its olds."""
    news = drbd_props().model_dump(mode="json")
    olds = {**news, "options": "(/etc/drbd.d/pg1.res edited on node2)"}
    provider = DrbdResourceProvider()
    old = provider._old_props(olds, news)
    assert old.options == DrbdOptions.model_validate(news["options"])
    plan = provider.plan_update(old, provider._props(news))
    assert ("drbdadm", "adjust", "pg1") in [step.argv for _, step in plan if isinstance(step, Run)]
    with pytest.raises(ValidationError):  # a field that is wrong in the config too stays an error
        provider._old_props({**olds, "minor": "x"}, {**news, "minor": "x"})


def test_an_lv_update_after_refresh_grows_to_the_configured_size():
    """A refreshed LV's size holds the drift ("{'node2': 25165824}"): never parsed as a size."""
    news = {"layer": "hypervisor", "nodes": NODES, "volume_group": "vg", "name": "lv-pg1", "size": "32M"}
    provider = LogicalVolumeProvider()
    old = provider._old_props({**news, "size": "{'node2': 25165824}"}, news)
    assert old.size == "32M"
    assert [step.argv for _, step in provider.plan_update(old, provider._props(news))] == [
        ("lvextend", "-L", "32M", "vg/lv-pg1")] * 2


def test_differing_authkeys_are_drift_that_up_refuses_to_guess_not_a_replace():
    """A replace would stop Pacemaker and every VM on both nodes; picking a key could cut off the
    node whose key is dropped.  refresh shows it, up stops with what to do by hand."""
    from hastack.plan import Put
    from providers.corosync_cluster import AUTHKEY, CONF, CorosyncClusterProps, CorosyncClusterProvider, conf_text

    props = CorosyncClusterProps(layer="hypervisor", nodes=NODES, cluster_name="lab",
                                 ring_addresses={"node1": ("10.0.0.1",), "node2": ("10.0.0.2",)})
    hosts = {n: ScriptedTransport(n) for n in ("node1", "node2")}
    for name, key in (("node1", b"a" * 256), ("node2", b"b" * 256)):
        hosts[name].files.update({CONF: conf_text(props).encode(), AUTHKEY: key})
    provider = CorosyncClusterProvider()
    drift = provider.observe(props, hosts.__getitem__)
    assert drift == {"authkey": "authkeys differ between node1 and node2"}
    news = props.model_dump(mode="json")
    refreshed = {**news, **drift}
    result = provider.diff("lab", refreshed, news)
    assert result.changes and result.replaces == []
    with pytest.raises(HastackError) as caught:
        provider.plan_update(provider._props(refreshed), props)
    assert caught.value.code == "AUTHKEY_DIFFERS" and "node1 and node2" in str(caught.value)
    assert "/etc/corosync/authkey" in str(caught.value)
    # A stack recorded before the field existed: no change.
    assert not provider.diff("lab", {k: v for k, v in news.items() if k != "authkey"}, news).changes
    hosts["node2"].files[AUTHKEY] = b"a" * 256
    assert provider.observe(props, hosts.__getitem__) == {}
    assert any(isinstance(s, Put) and s.path == CONF for _, s in provider.plan_update(props, props))


def test_deleting_a_cluster_stops_it_then_removes_its_key_and_cib_on_every_node():
    """Like `pcs cluster destroy`: no cluster secret and no CIB (node ids, cluster-name) left to
    be carried into the next cluster made on these hosts."""
    from providers.corosync_cluster import AUTHKEY, CONF, CorosyncClusterProps, CorosyncClusterProvider

    props = CorosyncClusterProps(layer="hypervisor", nodes=NODES, cluster_name="lab",
                                 ring_addresses={"node1": ("10.0.0.1",), "node2": ("10.0.0.2",)})
    plan = CorosyncClusterProvider().plan_delete(props)
    for node in ("node1", "node2"):
        argvs = [s.argv for t, s in plan if t == node]
        assert argvs[0] == ("systemctl", "disable", "--now", "pacemaker", "corosync")
        removed = " ".join(" ".join(a) for a in argvs[1:])
        assert CONF in removed and AUTHKEY in removed and "/var/lib/pacemaker/cib/cib*" in removed


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


def test_a_domain_pacemaker_stopped_is_read_from_the_config_file_it_left():
    """VirtualDomain undefines a domain before `virsh create` and puts its config file back, so a
    node the VM moved away from has only the file: that is its definition, not drift."""
    from hastack.config.load import load_stack
    from hastack.render.libvirt import domain_xml_path, render_domain_xml
    from providers.libvirt_domain import LibvirtDomainProps, LibvirtDomainProvider

    vm = next(v for v in load_stack("lab5").vms if v.name == "pg1")
    xml = render_domain_xml(vm)
    props = LibvirtDomainProps(layer="hypervisor", nodes=NODES, name="pg1", xml=xml)
    undefined = {"virsh dumpxml": Result(1, "", "error: failed to get domain 'pg1'")}
    hosts = {"node1": ScriptedTransport("node1", answers=undefined),
             "node2": ScriptedTransport("node2", answers={"virsh dumpxml": Result(0, xml, "")})}
    hosts["node1"].files[domain_xml_path("pg1")] = ("<!-- WARNING: auto-generated -->\n" + xml).encode()
    provider = LibvirtDomainProvider()
    assert provider.observe(props, hosts.__getitem__) == {}
    del hosts["node1"].files[domain_xml_path("pg1")]
    assert provider.observe(props, hosts.__getitem__) == {"xml": "(not defined on node1)"}
    [(_, step)] = [(t, s) for t, s in provider.plan_delete(props) if t == "node1"]
    assert domain_xml_path("pg1") in step.argv and "rm -f" in step.argv[2]


def test_a_system_account_changes_linger_in_place_and_never_deletes_the_account_to_do_so():
    from providers.system_account import SystemAccountProvider, SystemAccountProps

    nodes = [{"name": "node1", "ssh": {"host": "h1"}}, {"name": "node2", "ssh": {"host": "h2"}}]
    old = SystemAccountProps(layer="hypervisor", nodes=nodes, account="fence-agent", home="/home/fence-agent")
    new = old.model_copy(update={"linger": True})
    provider = SystemAccountProvider()
    assert provider.diff("fence-agent", old.model_dump(mode="json"), new.model_dump(mode="json")).replaces == []
    up = [argv for _, argv in commands(provider.plan_update(old, new))]
    assert len(up) == 2 and not any("userdel" in argv[2] for argv in up)
    assert all(argv[-1] == "yes" and "enable-linger" in argv[2] for argv in up)
    down = [argv for _, argv in commands(provider.plan_update(new, old))]
    assert [argv[-1] for argv in down if "disable-linger" in argv[2]] == ["fence-agent", "fence-agent"]
