"""Each CIB provider's whole lifecycle through its Pulumi methods (create, read, no-op diff,
update, drift found by read, adoption, delete) against a CIB file with the real tools: pcs -f,
crm_verify and cibadmin honour CIB_file, exactly as on a cluster node."""
from __future__ import annotations

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

    # read: no drift; diff: no change
    assert provider.read("pg1-vm", domain).outs["spec"] == domain["spec"]
    assert not provider.diff("pg1-vm", domain, domain).changes

    # update in place: a longer start timeout
    longer = props(pg1.domain.model_copy(update={"ops": tuple(
        op.model_copy(update={"timeout": "300s"}) if op.name == "start" else op for op in pg1.domain.ops)}))
    assert provider.diff("pg1-vm", domain, longer).changes and not provider.diff("pg1-vm", domain, longer).replaces
    provider.update("pg1-vm", domain, longer)
    assert local.cleanups == ["pg1-vm"]  # failures under the old definition no longer count
    start = [op for op in primitive.read(cluster.read_text(), "pg1-vm").ops if op.name == "start"]
    assert start[0].timeout == "300s"
    assert provider.read("pg1-vm", longer).outs["spec"] == longer["spec"]

    # drift: a hand edit of the timeout shows in read, and diff wants it back
    subprocess.run(["cibadmin", "--modify", "--xml-text", f'<op id="{start_op_id(cluster)}" timeout="45s"/>'],
                   check=True, env={"CIB_file": str(cluster), "PATH": "/usr/sbin:/usr/bin"})
    drifted = provider.read("pg1-vm", longer).outs
    assert drifted["spec"] != longer["spec"]
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
    assert provider.read("pinger", wanted).outs["spec"] == wanted["spec"]
    assert not provider.diff("pinger", wanted, wanted).changes

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
    assert drifted["spec"]["promotable"] is not None and "clone" not in drifted["spec"]
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
    """After refresh, fences_node holds the drift (None: deleted; "NODE (SCORE)": edited); the
    update that `up --refresh` makes from those olds puts the -INFINITY location back."""
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
        (["cibadmin", "--modify", "--xml-text", f'<rsc_location id="{avoid_id}" score="-100"/>'], f"{fenced} (-100)"),
    ):
        subprocess.run(hand_edit, check=True, env=cib_env)
        drifted = provider.read(spec.id, props).outs
        assert drifted["fences_node"] == seen and provider.diff(spec.id, drifted, props).changes
        provider.update(spec.id, drifted, props)
        assert avoid().node == fenced and avoid().score == "-INFINITY"
        assert provider.read(spec.id, props).outs["fences_node"] == fenced


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

    import providers.start_wait
    from hastack import start_wait

    path = tmp_path / "cib.xml"
    path.write_text(cib.apply_pcs(cib.empty_cib(), [["property", "set", "stonith-enabled=true"]]))
    monkeypatch.setattr(providers.start_wait, "wait_until_running",
                        functools.partial(start_wait.wait_until_running, interval_s=0.2))

    def cluster(fail=()):
        transport = ActingCluster(path, fail)
        monkeypatch.setattr(providers.base, "transports", lambda props: lambda target: transport)
        monkeypatch.setattr(providers.start_wait, "transports", lambda props: lambda target: transport)
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
