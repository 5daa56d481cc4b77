"""Each CIB provider's whole lifecycle through its Pulumi methods (create, read, no-op diff,
update, drift found by read, adoption, delete) against a CIB file with the real tools: pcs -f,
crm_verify and cibadmin honour CIB_file, exactly as on a cluster node.

Every CIB object kind: created, read back without drift, edited by hand with pcs or cibadmin
(seen in `live`, repaired by update), deleted.  And states written by hastack before `live`,
recorded in data/cib_states_before_live.json, refresh and update as they should."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import providers.base
from hastack import cib
from hastack.config.load import load_stack
from hastack.pacemaker import constraint, primitive
from hastack.layout import vm_objects
from hastack.reports import HastackError
from hastack.transport import Result
from hastack.transport.local import LocalTransport
from providers.pcs_constraint import PcsConstraintProvider
from providers.pcs_resource import PcsResourceProvider

pytestmark = pytest.mark.tools

# lab5's hypervisors, by their Pacemaker names (their `uname -n`).
N1, N2 = "node1.lab5.decoursey.com", "node2.lab5.decoursey.com"
NODES = [{"name": "node1", "ssh": {"host": "127.0.0.1", "port": 22201, "known_hosts_file": "x"}},
         {"name": "node2", "ssh": {"host": "127.0.0.1", "port": 22202, "known_hosts_file": "x"}}]


class FileCluster(LocalTransport):
    """A CIB file stands for the cluster.  `crm_resource --cleanup` asks the controller, which a
    file does not have (it crashes there): that one command is recorded instead of run."""

    def __init__(self, path):
        super().__init__("node1", {"CIB_file": str(path)})
        self.cleanups = []

    def run(self, argv, stdin=None, **kwargs):
        if list(argv[:2]) == ["crm_resource", "--cleanup"]:
            self.cleanups.append(argv[-1])
            return Result(0, "", "")
        return super().run(argv, stdin, **kwargs)


@pytest.fixture()
def local(tmp_path):
    """The cluster: a CIB file on this machine."""
    path = tmp_path / "cib.xml"
    path.write_text(cib.empty_cib())
    return FileCluster(path)


@pytest.fixture()
def connect(local):
    """What the providers get for their transports (`connect=`): every target is the CIB file."""
    return lambda props: lambda target: local


@pytest.fixture()
def cluster(local):
    return Path(local.env["CIB_file"])


@pytest.fixture(scope="module")
def pg1():
    lab5 = load_stack("lab5")
    return vm_objects(lab5.vm("pg1"), lab5.hypervisor)


@pytest.fixture()
def pg1_resources(cluster, connect, pg1):
    for spec in (pg1.drbd_clone, pg1.domain):
        PcsResourceProvider(connect=connect).create(props(spec))
    return cluster


def props(spec) -> dict:
    return {"layer": "hypervisor", "nodes": NODES, "spec": spec.model_dump(mode="json")}



def start_op_id(path) -> str:
    import xml.etree.ElementTree as ET

    return next(op.get("id") for op in ET.fromstring(path.read_text()).iter("op")
                if op.get("name") == "start" and op.get("id", "").startswith("pg1-vm"))


def test_pcs_resource_lifecycle(cluster, local, connect, pg1):
    provider = PcsResourceProvider(connect=connect)
    clone, domain = props(pg1.drbd_clone), props(pg1.domain)
    provider.create(clone)
    provider.create(domain)
    live = primitive.read(cluster.read_text(), "pg1-vm")
    assert live.agent == "ocf:heartbeat:VirtualDomain" and live.meta["target-role"] == "Stopped"

    # read: the inputs as they were, and no drift; diff: no change
    read = provider.read("pg1-vm", domain).outs
    assert {k: v for k, v in read.items() if k != "live"} == domain and read["live"]["spec"]["id"] == "pg1-vm"
    assert not provider.diff("pg1-vm", read, domain).changes

    # update in place: a longer start timeout
    longer = props(pg1.domain.model_copy(update={"ops": tuple(
        op.model_copy(update={"timeout": "300s"}) if op.name == "start" else op for op in pg1.domain.ops)}))
    assert provider.diff("pg1-vm", domain, longer).changes and not provider.diff("pg1-vm", domain, longer).replaces
    provider.update("pg1-vm", domain, longer)
    assert local.cleanups == ["pg1-vm"]  # failures under the old definition no longer count
    start = [op for op in primitive.read(cluster.read_text(), "pg1-vm").ops if op.name == "start"]
    assert start[0].timeout == "300s"
    assert not provider.diff("pg1-vm", provider.read("pg1-vm", longer).outs, longer).changes

    # drift: a hand edit of the timeout shows in read's `live`, and diff wants it back
    subprocess.run(["cibadmin", "--modify", "--xml-text", f'<op id="{start_op_id(cluster)}" timeout="45s"/>'],
                   check=True, env={"CIB_file": str(cluster), "PATH": "/usr/sbin:/usr/bin"})
    drifted = provider.read("pg1-vm", longer).outs
    assert drifted["spec"] == longer["spec"]
    assert {op["name"]: op["timeout"] for op in drifted["live"]["spec"]["ops"]}["start"] == "45s"
    assert provider.diff("pg1-vm", drifted, longer).changes

    # delete: gone, and the clone it depended on stays
    provider.delete("pg1-vm", longer)
    assert primitive.read(cluster.read_text(), "pg1-vm") is None
    assert provider.read("pg1-vm", longer).id is None
    assert primitive.read(cluster.read_text(), "drbd-pg1") is not None


def test_a_plain_clone_reads_back_as_itself_and_updates_in_place(cluster, local, connect):
    """A clone that is not promotable is read back as a plain clone: no drift, no update, and
    its clone meta changes in place; made promotable (by hand or by config) it is another object."""
    from hastack.pacemaker.primitive import Clone, Op, PrimitiveSpec, Promotable

    spec = PrimitiveSpec(id="pinger", agent="ocf:pacemaker:Dummy", ops=(Op(name="monitor", interval="10s"),),
                         clone=Clone(meta={"interleave": "true"}))
    provider, wanted = PcsResourceProvider(connect=connect), props(spec)
    provider.create(wanted)
    live = primitive.read(cluster.read_text(), "pinger")
    assert live.clone == Clone(meta={"interleave": "true"}) and live.promotable is None
    read = provider.read("pinger", wanted).outs
    assert read["live"]["spec"]["clone"] == {"meta": {"interleave": "true"}}
    assert not provider.diff("pinger", read, wanted).changes

    more = props(spec.model_copy(update={"clone": Clone(meta={"interleave": "true", "clone-max": "2"})}))
    assert provider.diff("pinger", wanted, more).changes and not provider.diff("pinger", wanted, more).replaces
    provider.update("pinger", wanted, more)
    assert primitive.read(cluster.read_text(), "pinger").clone.meta == {"interleave": "true", "clone-max": "2"}
    assert local.cleanups == ["pinger-clone"]

    promotable = props(spec.model_copy(update={"clone": None, "promotable": Promotable()}))
    assert provider.diff("pinger", more, promotable).replaces == ["spec"]
    env = {"CIB_file": str(cluster), "PATH": "/usr/sbin:/usr/bin"}
    subprocess.run(["pcs", "-f", str(cluster), "resource", "create", "stateful", "ocf:pacemaker:Stateful",
                    "promotable"], check=True, env=env, capture_output=True)
    as_plain = props(PrimitiveSpec(id="stateful", agent="ocf:pacemaker:Stateful", clone=Clone()))
    drifted = provider.read("stateful", as_plain).outs
    assert drifted["live"]["spec"]["promotable"] is not None and "clone" not in drifted["live"]["spec"]
    assert provider.diff("stateful", drifted, as_plain).replaces == ["spec"]


def test_an_identical_existing_object_is_adopted_and_a_different_one_refused(pg1_resources, connect, pg1):
    cluster = pg1_resources
    provider = PcsConstraintProvider(connect=connect)
    order = props(pg1.order)
    provider.create(order)
    before = cluster.read_text()
    provider.create(order)  # exists as configured (e.g. built by hand, or state lost): adopted
    assert cluster.read_text() == before  # no patch at all

    other = props(pg1.order.model_copy(update={"first_action": "start"}))
    with pytest.raises(HastackError) as caught:
        provider.create(other)
    message = str(caught.value)
    assert caught.value.code == "EXISTS_DIFFERENT" and pg1.order.id in message
    assert "'first_action': 'promote'" in message and "'first_action': 'start'" in message
    assert constraint.read(cluster.read_text(), pg1.order.id).first_action == "promote"  # untouched


def test_a_constraint_deleted_by_hand_is_gone_on_read_and_recreated(pg1_resources, connect, pg1):
    cluster = pg1_resources
    provider = PcsConstraintProvider(connect=connect)
    location = props(pg1.location)
    provider.create(location)
    subprocess.run(["cibadmin", "--delete", "--xml-text", f'<rsc_location id="{pg1.location.id}"/>'], check=True,
                   env={"CIB_file": str(cluster), "PATH": "/usr/sbin:/usr/bin"})
    assert provider.read(pg1.location.id, location).id is None  # refresh drops it; up recreates it
    provider.create(location)
    assert constraint.read(cluster.read_text(), pg1.location.id) is not None


@pytest.fixture()
def fence_props():
    """fence-node1 of the lab5 stack, not waited for (start_wait_s 0)."""
    from hastack.layout import hypervisor_fence_specs

    spec, fenced, secrets = hypervisor_fence_specs(load_stack("lab5").hypervisor)[0]
    return {"layer": "hypervisor", "nodes": NODES, "spec": spec.model_dump(mode="json"), "fences_node": fenced,
            "secret_values": {k: "not-the-real-one" for k in secrets}}


def test_a_fence_devices_avoid_constraint_deleted_or_edited_by_hand_is_repaired(cluster, connect, fence_props):
    """After refresh, `live` holds the avoid location as the CIB does (None: deleted); the update
    that `up --refresh` makes from those olds puts the -INFINITY location back."""
    from hastack.pacemaker.stonith import avoid_spec
    from providers.stonith_device import StonithDeviceProvider

    props, fenced = fence_props, fence_props["fences_node"]
    provider = StonithDeviceProvider(connect=connect)
    validated = provider._props(props)
    spec, avoid_id = validated.spec, avoid_spec(validated).id
    provider.create(props)
    cib_env = {"CIB_file": str(cluster), "PATH": "/usr/sbin:/usr/bin"}

    def avoid():
        return constraint.read(cluster.read_text(), avoid_id)

    assert avoid().node == fenced and avoid().score == "-INFINITY"
    for hand_edit, seen in (
        (["cibadmin", "--delete", "--xml-text", f'<rsc_location id="{avoid_id}"/>'], None),
        (["cibadmin", "--modify", "--xml-text", f'<rsc_location id="{avoid_id}" score="-100"/>'], (fenced, "-100")),
        (["cibadmin", "--modify", "--xml-text", f'<rsc_location id="{avoid_id}" node="{N2}"/>'], (N2, "-INFINITY")),
    ):
        subprocess.run(hand_edit, check=True, env=cib_env)
        drifted = provider.read(spec.id, props).outs
        held = drifted["live"]["avoid"]
        assert drifted["fences_node"] == fenced and (held and (held["node"], held["score"])) == seen
        assert provider.diff(spec.id, drifted, props).changes
        provider.update(spec.id, drifted, props)
        assert avoid().node == fenced and avoid().score == "-INFINITY"
        assert not provider.diff(spec.id, provider.read(spec.id, props).outs, props).changes


# ---- every CIB object kind: create, read, a hand edit seen and repaired, delete -------------------
GUEST_NODES = [{"name": "pg1", "ssh": {"host": "127.0.0.1", "port": 22211, "known_hosts_file": "x"}},
               {"name": "pg2", "ssh": {"host": "127.0.0.1", "port": 22212, "known_hosts_file": "x"}}]
G1, G2 = "pg1.lab5.decoursey.com", "pg2.lab5.decoursey.com"  # the guests, by their Pacemaker names


@pytest.fixture(scope="module")
def lab5_inputs():
    """name -> (type, inputs as the provider gets them) of every CIB resource of lab5, on test
    nodes, fence passwords replaced and no start wait (nothing here runs a resource)."""
    from commands.render import plain, record_stack
    from hastack.resources.registry import HOST_TYPES, hastack_type

    out = {}
    for resource in record_stack(load_stack("lab5"), "lab5"):
        type_name, inputs = hastack_type(resource.typ), plain(resource.inputs)
        if type_name is None or type_name in HOST_TYPES:
            continue
        inputs["nodes"] = NODES if inputs["layer"] == "hypervisor" else GUEST_NODES
        if inputs.get("secret_values"):
            inputs["secret_values"] = {k: "not-the-real-one" for k in inputs["secret_values"]}
        out[resource.name] = (type_name, {**inputs, **({"start_wait_s": 0} if "start_wait_s" in inputs else {})})
    return out


def provider_of(type_name, connect):
    from commands.render import provider_class

    return provider_class(type_name)(connect=connect)


@pytest.fixture(scope="module")
def made_first(tmp_path_factory):
    """made_first(cluster, [(type, inputs)]): the CIB file as those resources' creates leave it,
    built once per module for each list (pcs is the slow part of these tests)."""
    built = {}

    def make(cluster: Path, resources) -> None:
        key = json.dumps(resources, sort_keys=True)
        if key not in built:
            path = tmp_path_factory.mktemp("first") / "cib.xml"
            path.write_text(cib.empty_cib())
            local = FileCluster(path)
            for type_name, inputs in resources:
                provider_of(type_name, lambda props: lambda target: local).create(inputs)
            built[key] = path.read_text()
        cluster.write_text(built[key])

    return make


PLAIN_CLONE = {"layer": "hypervisor", "nodes": NODES, "spec": {
    "id": "pinger", "agent": "ocf:pacemaker:Dummy", "ops": [{"name": "monitor", "interval": "10s"}],
    "clone": {"meta": {"interleave": "true"}}}}

# kind -> (resources made first, the resource, hand edits (argv; {cib} is the file), what `live` shows then)
KINDS = {
    "primitive": (["pg1-drbd-clone"], "pg1-vm", [
        ["cibadmin", "--modify", "--xml-text", '<op id="pg1-vm-start-interval-0s" timeout="45s"/>'],
        ["pcs", "-f", "{cib}", "resource", "update", "pg1-vm", "config=/tmp/pg1.xml", "meta", "priority=5"]],
        lambda live: (live["spec"]["params"]["config"], live["spec"]["meta"], next(
            op["timeout"] for op in live["spec"]["ops"] if op["name"] == "start")) == (
            "/tmp/pg1.xml", {"priority": "5"}, "45s")),
    "promotable clone": ([], "pg1-drbd-clone", [["pcs", "-f", "{cib}", "resource", "meta", "drbd-pg1-clone", "clone-max=3"]],
                         lambda live: live["spec"]["promotable"]["meta"]["clone-max"] == "3"),
    "plain clone": ([], PLAIN_CLONE, [["pcs", "-f", "{cib}", "resource", "meta", "pinger-clone", "interleave=false"]],
                    lambda live: live["spec"]["clone"] == {"meta": {"interleave": "false"}}),
    "location": (["pg1-drbd-clone", "pg1-vm"], "pg1-location", [
        ["cibadmin", "--modify", "--xml-text", '<rsc_location id="loc-pg1-vm-prefers-node1" score="50"/>']],
        lambda live: live["spec"]["score"] == "50"),
    "colocation": (["pg1-drbd-clone", "pg1-vm"], "pg1-colocation", [
        ["cibadmin", "--modify", "--xml-text", '<rsc_colocation id="col-pg1-vm-with-drbd-pg1-clone" with-rsc-role="Unpromoted"/>']],
        lambda live: live["spec"]["with_role"] == "Unpromoted"),
    "order": (["pg1-drbd-clone", "pg1-vm"], "pg1-order", [
        ["cibadmin", "--modify", "--xml-text", '<rsc_order id="ord-drbd-pg1-clone-then-pg1-vm" first-action="start"/>']],
        lambda live: live["spec"]["first_action"] == "start"),
    "cluster config": ([], "lab5-cluster-config", [
        ["pcs", "-f", "{cib}", "property", "set", "stonith-enabled=false"],
        ["pcs", "-f", "{cib}", "resource", "defaults", "update", "resource-stickiness="],
        ["pcs", "-f", "{cib}", "alert", "delete", "nsca-alert"]],
        lambda live: live == {"properties": {"stonith-enabled": "false"}, "resource_defaults": {}, "alerts": []}),
    "fence device": ([], "lab5-fence-node1", [
        ["cibadmin", "--delete", "--xml-text", '<rsc_location id="loc-fence-node1-avoids-node1"/>'],
        ["pcs", "-f", "{cib}", "stonith", "update", "fence-node1", "ipport=625"]],
        lambda live: live["avoid"] is None and live["spec"]["params"]["ipport"] == "625"
        and "password" not in live["spec"]["params"]),
    "guest fence device": ([], "pgcluster-fence-pg1", [
        ["cibadmin", "--modify", "--xml-text", f'<rsc_location id="loc-fence-pg1-avoids-pg1" node="{G2}"/>'],
        ["pcs", "-f", "{cib}", "stonith", "update", "fence-pg1", "pcmk_delay_base=5s", "--force"]],
        lambda live: live["avoid"]["node"] == G2 and live["spec"]["params"]["pcmk_delay_base"] == "5s"),
    "enable": (["pg1-drbd-clone", "pg1-vm"], "pg1-enable", [["pcs", "-f", "{cib}", "resource", "disable", "pg1-vm"]],
               lambda live: live == {"target_role": "Stopped"}),
}


def hand_edit(cluster: Path, edits) -> None:
    env = {"CIB_file": str(cluster), "PATH": "/usr/sbin:/usr/bin"}
    for argv in edits:
        subprocess.run([a.replace("{cib}", str(cluster)) for a in argv], check=True, env=env, capture_output=True)


def gone_after_delete(type_name, read) -> bool:
    """Deleted: a primitive, constraint or device is gone; a cluster config leaves none of its
    settings; an enable leaves its resource disabled."""
    if type_name == "PcsClusterConfig":
        return read.outs["live"] == {"properties": {}, "resource_defaults": {}, "alerts": []}
    if type_name == "PcsResourceEnable":
        return read.outs["live"] == {"target_role": "Stopped"}
    return read.id is None


@pytest.mark.parametrize("kind", KINDS)
def test_each_cib_object_kind_is_created_read_repaired_after_a_hand_edit_and_deleted(kind, cluster, connect, lab5_inputs,
                                                                                     made_first):
    first, made, edits, seen = KINDS[kind]
    made_first(cluster, [lab5_inputs[name] for name in first])
    type_name, props = lab5_inputs[made] if isinstance(made, str) else ("PcsResource", made)
    provider = provider_of(type_name, connect)
    id_ = provider.create(props).id

    # read back: the inputs untouched, what the CIB holds in `live`, no drift
    read = provider.read(id_, props)
    clean = read.outs["live"]
    assert read.id == id_ and {k: v for k, v in read.outs.items() if k != "live"} == props
    assert not provider.diff(id_, read.outs, props).changes

    # a hand edit: seen in `live` (never in an input), an update (never a replace) that repairs it
    hand_edit(cluster, edits)
    drifted = provider.read(id_, props).outs
    assert seen(drifted["live"]), drifted["live"]
    assert {k: v for k, v in drifted.items() if k != "live"} == props
    diff = provider.diff(id_, drifted, props)
    assert diff.changes and diff.replaces == []
    assert provider.update(id_, drifted, props).outs == props  # applied: no `live` recorded
    repaired = provider.read(id_, props).outs
    assert repaired["live"] == clean and not provider.diff(id_, repaired, props).changes

    provider.delete(id_, props)
    assert gone_after_delete(type_name, provider.read(id_, props))


# ---- states written by hastack before `live` ------------------------------------------------------
BEFORE_LIVE = json.loads((Path(__file__).parent / "data" / "cib_states_before_live.json").read_text())["records"]


@pytest.mark.parametrize("record", BEFORE_LIVE, ids=[r["name"] for r in BEFORE_LIVE])
def test_a_state_written_before_live_refreshes_and_updates_correctly(record, cluster, connect, made_first):
    """An old refresh wrote what it read into the input fields (a drifted spec, "NODE (SCORE)",
    None for a deleted alert, "ID (target-role=Stopped)").  With the same hand edits in the CIB,
    both `up` (an update straight from that state) and `up --refresh` (this code's read first)
    repair the object, never by a replace, and the refresh keeps the resource in the state.  The
    provider is the one that state pickled (the engine runs refresh and delete with it)."""
    import base64

    import dill

    made_first(cluster, [(made["type"], made["inputs"]) for made in record["first"]])
    provider, inputs = dill.loads(base64.b64decode(record["refreshed"]["__provider"])), record["inputs"]
    assert type(provider) is type(provider_of(record["type"], connect))
    provider.connect = connect
    provider.create(inputs)
    wanted = provider._props(inputs)

    def as_configured() -> bool:
        live = provider.observe(wanted, connect(wanted))
        return live is not None and provider.kind.drifted(wanted, live) == ()

    for refresh_first in (False, True):
        hand_edit(cluster, record["edits"])
        assert not as_configured()
        olds = record["refreshed"]
        if refresh_first:
            read = provider.read(record["id"], olds)
            assert read.id == record["id"]  # kept: refreshing an old state never drops the resource
            olds = read.outs
        diff = provider.diff(record["id"], olds, inputs)
        assert diff.changes and diff.replaces == []
        assert provider.update(record["id"], olds, inputs).outs == inputs
        assert as_configured(), refresh_first


class ActingCluster(FileCluster):
    """A CIB file that the scheduler acts on: before each status query, crm_simulate runs the
    transition the CIB calls for (both nodes online, quorate), failing the starts in FAIL, and
    writes the outcome back, as the cluster would."""

    def __init__(self, path, fail: tuple[str, ...] = ()):
        super().__init__(path)
        self.fail = fail

    def run(self, argv, stdin=None, **kwargs):
        if argv[0] == "crm_mon":
            path = Path(self.env["CIB_file"])
            failing = [a for op in self.fail for a in ("--op-fail", op)]
            subprocess.run(["crm_simulate", "--xml-file", str(path), "--simulate", "--quorum", "1",
                            "--node-up", N1, "--node-up", N2, *failing, "--save-output", f"{path}.next"],
                           check=True, capture_output=True)
            Path(f"{path}.next").replace(path)
        return super().run(argv, stdin, **kwargs)


@pytest.fixture()
def waited_fence_props(fence_props):
    return {**fence_props, "start_wait_s": 2}


@pytest.fixture()
def acting(tmp_path, monkeypatch):
    import functools

    from hastack import start_wait

    path = tmp_path / "cib.xml"
    path.write_text(cib.apply_pcs(cib.empty_cib(), [["property", "set", "stonith-enabled=true"]]))
    monkeypatch.setattr(start_wait, "wait_until_running", functools.partial(start_wait.wait_until_running, interval_s=0.2))

    def cluster(fail=()):
        transport = ActingCluster(path, fail)
        # the edit and the wait both go through the provider's transports
        monkeypatch.setattr(providers.base, "transports", lambda props: lambda target: transport)
        return path

    return cluster


def test_a_fence_device_create_returns_once_the_device_runs_off_its_target(acting, waited_fence_props):
    from providers.stonith_device import StonithDeviceProvider

    path = acting()
    StonithDeviceProvider().create(waited_fence_props)
    status = subprocess.run(["crm_mon", "-1", "--output-as=xml"], capture_output=True, text=True, check=True,
                            env={"CIB_file": str(path), "PATH": "/usr/sbin:/usr/bin"}).stdout
    from hastack.facts.status import healthy_on, parse_crm_mon

    assert healthy_on(parse_crm_mon(status), waited_fence_props["spec"]["id"]) == [N2]


def test_a_fence_device_that_cannot_start_is_removed_again_and_named(acting, waited_fence_props):
    """A wrong BMC password: the start fails on the one node the device may run on.  `up` must not
    report success with node1 unfenceable, and the failed create leaves no device behind (Pulumi
    keeps no state of it, and this provider never adopts a device it cannot read the password of)."""
    from hastack.pacemaker.stonith import avoid_spec
    from providers.stonith_device import StonithDeviceProvider

    device = waited_fence_props["spec"]["id"]
    path = acting(fail=(f"{device}_start_0@{N2}=1",))
    provider = StonithDeviceProvider()
    with pytest.raises(HastackError) as caught:
        provider.create(waited_fence_props)
    message = str(caught.value)
    assert caught.value.code == "NOT_RUNNING" and f"start on {N2}" in message
    assert "removed again: the cluster is as before this step" in message
    live = path.read_text()
    assert primitive.read(live, device) is None
    assert constraint.read(live, avoid_spec(provider._props(waited_fence_props)).id) is None


def test_a_fence_device_update_that_stops_it_running_says_the_node_is_unfenceable(acting, waited_fence_props):
    from providers.stonith_device import StonithDeviceProvider

    device = waited_fence_props["spec"]["id"]
    acting()
    provider = StonithDeviceProvider()
    provider.create(waited_fence_props)
    path = acting(fail=(f"{device}_start_0@{N2}=1",))
    news = {**waited_fence_props, "spec": {**waited_fence_props["spec"], "params": {**waited_fence_props["spec"]["params"], "ipport": "624"}}}
    with pytest.raises(HastackError) as caught:
        provider.update(device, waited_fence_props, news)
    assert f"{N1} cannot be fenced until it does" in str(caught.value)
    assert primitive.read(path.read_text(), device).params["ipport"] == "624"  # what is left, as said
