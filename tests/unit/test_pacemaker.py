"""hastack/pacemaker: each object kind's argv, reading and comparison, as case tables."""
from __future__ import annotations

import pytest

from hastack.pacemaker import constraint, primitive, stonith
from hastack.pacemaker.constraint import ColocationSpec, LocationSpec, OrderSpec
from hastack.pacemaker.primitive import Clone, Op, Primitive, PrimitiveSpec, Promotable
from hastack.plan import CibEdit, Run

DRBD = PrimitiveSpec(id="drbd-pg1", agent="ocf:linbit:drbd", params={"drbd_resource": "pg1"},
                     ops=(Op(name="monitor", interval="30s", role="Promoted"),), promotable=Promotable())
FENCE = PrimitiveSpec(id="fence-node1", agent="stonith:fence_ipmilan", params={"ip": "192.0.2.1", "password": ""},
                      secret_params=("password",), ops=(Op(name="monitor", interval="60s"),))
VM = PrimitiveSpec(id="pg1-vm", agent="VirtualDomain", params={"config": "/etc/libvirt/qemu/pg1.xml"},
                   meta={"allow-migrate": "true"}, ops=(Op(name="start", timeout="60s"),), disabled=True)
PING = PrimitiveSpec(id="ping", agent="ocf:pacemaker:ping", clone=Clone(meta={"interleave": "true"}))


@pytest.mark.parametrize("spec, argvs", [
    (DRBD, [["resource", "create", "drbd-pg1", "ocf:linbit:drbd", "drbd_resource=pg1",
             "op", "monitor", "interval=30s", "role=Promoted"],
            ["resource", "promotable", "drbd-pg1", "meta", "clone-max=2", "clone-node-max=1", "notify=true",
             "promoted-max=1", "promoted-node-max=1"]]),
    (FENCE, [["stonith", "create", "fence-node1", "fence_ipmilan", "ip=192.0.2.1",
              "password=@@hastack-secret:fence-node1:password@@", "op", "monitor", "interval=60s"]]),
    (VM, [["resource", "create", "pg1-vm", "VirtualDomain", "config=/etc/libvirt/qemu/pg1.xml",
           "op", "start", "interval=0s", "timeout=60s", "meta", "allow-migrate=true", "--disabled"]]),
    (PING, [["resource", "create", "ping", "ocf:pacemaker:ping"], ["resource", "clone", "ping", "meta", "interleave=true"]]),
    (PING.model_copy(update={"clone": Clone()}), [["resource", "create", "ping", "ocf:pacemaker:ping"],
                                                  ["resource", "clone", "ping"]]),
    (FENCE.model_copy(update={"agent": "stonith:fence_pgrestart", "secret_params": (), "params": {}}),
     [["stonith", "create", "fence-node1", "fence_pgrestart", "op", "monitor", "interval=60s", "--force"]]),
])
def test_create_argv(spec, argvs):
    assert primitive.create_argvs(spec) == argvs


def test_update_drops_what_the_config_dropped_and_keeps_secrets_off_the_command_line():
    old = VM.model_copy(update={"params": {"config": "/a.xml", "force_stop": "true"}})
    assert primitive.update_argvs(old, VM) == [[
        "resource", "update", "pg1-vm", "config=/etc/libvirt/qemu/pg1.xml", "force_stop=",
        "op", "start", "interval=0s", "timeout=60s", "meta", "allow-migrate=true"]]
    assert primitive.update_argvs(FENCE, FENCE)[0][:5] == [
        "stonith", "update", "fence-node1", "ip=192.0.2.1", "password=@@hastack-secret:fence-node1:password@@"]
    wider = PING.model_copy(update={"clone": Clone(meta={"interleave": "true", "clone-max": "3"})})
    assert primitive.update_argvs(PING, wider)[1] == ["resource", "meta", "ping-clone", "clone-max=3", "interleave=true"]


def test_a_primitive_without_a_plain_clone_keeps_its_props():
    assert "clone" not in VM.model_dump() and PING.model_dump()["clone"] == {"meta": {"interleave": "true"}}
    with pytest.raises(ValueError, match="either promotable or plain"):
        PrimitiveSpec(id="x", agent="Dummy", promotable=Promotable(), clone=Clone())
    assert (DRBD.top_id, PING.top_id, VM.top_id) == ("drbd-pg1-clone", "ping-clone", "pg1-vm")


@pytest.mark.parametrize("change, replaced", [
    ({"params": {"config": "/b.xml"}}, False),
    ({"ops": ()}, False),
    ({"agent": "ocf:heartbeat:VirtualDomain"}, False),  # the same agent, qualified
    ({"agent": "ocf:pacemaker:Dummy"}, True),
    ({"id": "pg2-vm"}, True),
    ({"clone": Clone()}, True),
    ({"promotable": Promotable()}, True),
])
def test_what_replaces_a_primitive(change, replaced):
    assert primitive.replaced(VM, VM.model_copy(update=change)) is replaced


def test_the_live_primitive_is_compared_on_what_hastack_manages():
    def live(wanted, read):  # what observe records of the primitive READ from a CIB
        return primitive.PcsResourceLive(spec=primitive.managed(wanted, read))

    read = VM.model_copy(update={
        "agent": "ocf:heartbeat:VirtualDomain", "meta": {"allow-migrate": "true", "target-role": "Stopped"},
        "ops": (Op(name="monitor", interval="10s", timeout="30s"), Op(name="start", timeout="60s"))})
    assert primitive.drifted(Primitive(spec=VM), live(VM, read)) == ()  # pcs's default ops and PcsResourceEnable's target-role
    edited = live(VM, read.model_copy(update={"params": {"config": "/tmp/pg1.xml"}}))
    assert primitive.drifted(Primitive(spec=VM), edited) == ("spec",) and edited.spec.params == {"config": "/tmp/pg1.xml"}
    read_fence = FENCE.model_copy(update={"params": {"ip": "192.0.2.9", "password": "calvin"}, "secret_params": ()})
    fence = live(FENCE, read_fence)
    assert primitive.drifted(Primitive(spec=FENCE), fence) == ("spec",)
    assert fence.spec.params == {"ip": "192.0.2.9"} and "calvin" not in fence.model_dump_json()  # a secret is never recorded
    promotable = live(PING, PING.model_copy(update={"clone": None, "promotable": Promotable()}))
    assert primitive.drifted(Primitive(spec=PING), promotable) == ("spec",) and promotable.spec.promotable


def test_a_pacemaker_resource_plan_disables_waits_and_deletes():
    plan = primitive.plan_delete(Primitive(spec=DRBD))
    assert [s.commands if isinstance(s, CibEdit) else s.argv for _, s in plan] == [
        (("resource", "disable", "drbd-pg1-clone"),), ("crm_resource", "--wait", "--timeout=300s"),
        (("resource", "delete", "drbd-pg1"),), ("crm_resource", "--wait", "--timeout=300s")]
    update = primitive.plan_update(Primitive(spec=FENCE, secret_values={"password": "calvin"}), Primitive(
        spec=FENCE, secret_values={"password": "hunter2"}), None)
    assert update[0][1].secrets == {"@@hastack-secret:fence-node1:password@@": "hunter2"}
    assert update[-1][1] == Run(("crm_resource", "--cleanup", "--resource", "fence-node1"))


def test_an_update_drops_what_the_cib_holds_beyond_the_config():
    """With the last refresh's reading, the update drops a param or meta attribute added by hand
    (and still one the config dropped, secret or not); without it, what the old config set."""
    old = Primitive(spec=VM.model_copy(update={"params": {**VM.params, "force_stop": "true"}}))
    live = primitive.PcsResourceLive(spec=VM.model_copy(update={"meta": {"allow-migrate": "true", "priority": "5"}}))
    [argv] = primitive.plan_update(old, Primitive(spec=VM), live)[0][1].commands
    assert argv == ("resource", "update", "pg1-vm", "config=/etc/libvirt/qemu/pg1.xml", "op", "start", "interval=0s",
                    "timeout=60s", "meta", "allow-migrate=true", "priority=")
    [argv] = primitive.plan_update(old, Primitive(spec=VM), None)[0][1].commands
    assert "force_stop=" in argv and "priority=" not in argv
    dropped = FENCE.model_copy(update={"params": {"ip": "192.0.2.1"}, "secret_params": ()})
    fence_live = primitive.PcsResourceLive(spec=primitive.managed(FENCE, FENCE))
    [argv] = primitive.plan_update(Primitive(spec=FENCE), Primitive(spec=dropped), fence_live)[0][1].commands
    assert argv[3:] == ("ip=192.0.2.1", "password=", "op", "monitor", "interval=60s")


@pytest.mark.parametrize("spec, argv", [
    (LocationSpec(id="loc-a", resource="a", node="n1", score="-INFINITY"),
     ["constraint", "location", "add", "loc-a", "a", "n1", "--", "-INFINITY"]),
    (constraint.colocation("vm", "drbd-clone", with_role="Promoted"),
     ["constraint", "colocation", "add", "vm", "with", "Promoted", "drbd-clone", "INFINITY", "id=col-vm-with-drbd-clone"]),
    (constraint.order("drbd-clone", "vm", first_action="promote"),
     ["constraint", "order", "promote", "drbd-clone", "then", "start", "vm", "id=ord-drbd-clone-then-vm"]),
])
def test_constraint_argv(spec, argv):
    assert constraint.create_argv(spec) == argv


def test_a_colocation_with_the_started_role_is_the_default_one():
    cib = ('<cib><configuration><constraints><rsc_colocation id="c" rsc="a" with-rsc="b" score="INFINITY"/>'
           '<rsc_order id="o" first="b" then="a" first-action="promote" then-action="start"/>'
           '</constraints></configuration></cib>')

    def drift(spec):
        obj = constraint.Constraint(spec=spec)
        live = constraint.observe(obj, cib)
        return live and (constraint.drifted(obj, live), live.spec)

    assert drift(ColocationSpec(id="c", resource="a", with_resource="b", with_role="Started"))[0] == ()
    assert drift(OrderSpec(id="o", first="b", then="a")) == (("spec",), OrderSpec(id="o", first="b", first_action="promote", then="a"))
    assert drift(OrderSpec(id="gone", first="b", then="a")) is None


def test_a_fence_devices_edited_avoid_location_is_replaced_by_the_one_it_wants():
    """The live location (by its id), whatever node and score it holds now, is deleted and the
    wanted one added, in the device's patch; read as gone, it is only added."""
    device = stonith.FenceDevice(spec=FENCE, fences_node="node1.example.com")
    wanted = stonith.avoid_spec(device)
    for held in (wanted.model_copy(update={"score": "-100"}), wanted.model_copy(update={"node": "node2.example.com"})):
        live = stonith.StonithDeviceLive(spec=FENCE, avoid=held)
        assert stonith.drifted(device, live) == ("fences_node",)
        commands = stonith.plan_update(device, device, live)[0][1].commands
        assert commands[1:] == (("constraint", "delete", "loc-fence-node1-avoids-node1"),
                                ("constraint", "location", "add", "loc-fence-node1-avoids-node1", "fence-node1",
                                 "node1.example.com", "--", "-INFINITY"))
    gone = stonith.StonithDeviceLive(spec=FENCE, avoid=None)
    assert stonith.plan_update(device, device, gone)[0][1].commands[1:] == (tuple(constraint.create_argv(wanted)),)
    assert stonith.plan_update(device, device, None)[0][1].commands[1:] == ()  # as the state says: nothing to do
    assert stonith.drifted(device, stonith.StonithDeviceLive(spec=FENCE, avoid=wanted)) == ()


def test_a_node_name_or_id_never_holds_what_older_hastack_wrote_after_a_refresh():
    from pydantic import ValidationError

    from hastack.pacemaker import enable

    for prose in ("node1.example.com (-100)", None):
        with pytest.raises(ValidationError):
            stonith.FenceDevice(spec=FENCE, fences_node=prose)
    with pytest.raises(ValidationError):
        enable.PcsResourceEnableProps(layer="hypervisor", nodes=(), resource_id="pg1-vm (target-role=Stopped)")


def test_every_cib_resource_kind_has_the_shape_of_a_resource():
    """hastack/resources/base.py's interface (observe reading a CIB), on every CIB type of the registry."""
    from commands.render import provider_class
    from hastack.resources import registry

    for type_name in set(registry.TYPES) - set(registry.HOST_TYPES) - set(registry.STATE_TYPES):
        kind = provider_class(type_name).kind
        assert kind.__name__.startswith("hastack.pacemaker."), type_name
        for name in ("PROPS", "LIVE", "COMPARED", "REPLACED", "resource_id", "observe", "drifted",
                     "plan_create", "plan_update", "plan_delete"):
            assert hasattr(kind, name), f"{kind.__name__} has no {name}"
        assert set(kind.REPLACED) <= set(kind.COMPARED) <= set(kind.PROPS.model_fields)
        # live state is its own type, never the props: no layer, no nodes, no secret
        assert not {"layer", "nodes", "secret_values"} & set(kind.LIVE.model_fields), type_name


def test_a_device_of_hastacks_own_agent_updates_with_force_as_it_is_created():
    """pcs -f runs where the agent is not installed: `stonith update` refuses it without --force."""
    guest = FENCE.model_copy(update={"agent": "stonith:fence_pgrestart", "secret_params": (), "params": {"nodename": "pg1"}})
    assert primitive.update_argvs(guest, guest)[0][-1] == "--force" and "--force" not in primitive.update_argvs(FENCE, FENCE)[0]
