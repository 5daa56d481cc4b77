"""Each host-side provider's whole lifecycle through its Pulumi methods, against the lab's two
hypervisors over the real SSH transport (no cluster needed): create, read, no-op diff, update,
drift made by hand and found by read, a hand delete, delete.  Asserted on the hosts themselves
(lvs, /proc/drbd, virsh dumpxml, semodule -l), never on what the provider says of itself.
The Pacemaker providers' lifecycles run against a CIB file in tests/tools and against the live
cluster in test_stack_live.py."""
from __future__ import annotations

import hashlib
import shutil
import time

import pytest
from labhelpers import full_only, opened, ssh, wait_for

from hastack.config.load import load_stack
from hastack.layout import vm_drbd_hosts
from hastack.render.libvirt import domain_xml_path, render_domain_xml, vm_uuid
from hastack.reports import HastackError
from hastack.transport.ssh import close_all
from providers.drbd_resource import DrbdResourceProvider
from providers.libvirt_domain import LibvirtDomainProvider
from providers.logical_volume import LogicalVolumeProvider
from providers.selinux_module import SelinuxModuleProvider
from providers.system_account import SystemAccountProvider

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]

HYPERVISORS = ("node1", "node2")
# Names, minor and ports no stack object uses, so nothing here can collide with the lab stack.
NAME, MINOR, PORTS = "probe", 9, (7837, 7838)


@pytest.fixture(scope="module")
def hv(live_lab):
    # The probe DRBD resource's port: no stack opens it on this bare lab, whose hosts deny it by default.
    with opened(PORTS[0]):
        yield load_stack("lab").hypervisor


@pytest.fixture(scope="module")
def base(hv):
    return {"layer": "hypervisor",
            "nodes": [{"name": n.name, "ssh": n.ssh.model_dump(mode="json", exclude_none=True)} for n in hv.nodes]}


@pytest.fixture(autouse=True)
def fresh_connections():
    # Each test's provider calls open their own pooled connections, as a provider process would.
    yield
    close_all()


def on_both(command: str) -> list[str]:
    return [ssh(node, command, check=False).stdout for node in HYPERVISORS]


def read_back(provider, id_: str, props: dict) -> dict:
    """read's outputs: the inputs as they were, and the live state apart from them (`live`)."""
    outs = provider.read(id_, props).outs
    assert {k: v for k, v in outs.items() if k != "live"} == props
    return outs


def as_configured(provider, id_: str, props: dict) -> bool:
    """What the hosts hold is what PROPS say: read, then diff, finds nothing to do."""
    return not provider.diff(id_, read_back(provider, id_, props), props).changes


@pytest.fixture()
def lv_props(hv, base) -> dict:
    return {**base, "volume_group": hv.volume_group, "name": "lv-probe", "size": "16M"}


@pytest.fixture()
def drbd_props(hv, base, probe_lv) -> dict:
    return {**base, "name": NAME, "minor": MINOR, "disk": probe_lv, "hosts": vm_drbd_hosts(hv),
            "ports": PORTS[:1], "options": hv.drbd.model_dump(mode="json"), "preferred_node": "node1"}


def test_logical_volume_lifecycle(hv, lv_props):
    provider, props = LogicalVolumeProvider(), lv_props
    lv = f"{hv.volume_group}/lv-probe"
    sizes = f"lvs --noheadings --nosuffix --units m -o lv_size {lv}"
    try:
        provider.create(props)
        assert [s.strip() for s in on_both(sizes)] == ["16.00", "16.00"]
        assert as_configured(provider, lv, props)
        assert not provider.diff(lv, props, props).changes

        # drift: grown by hand on node2
        ssh("node2", f"lvextend -q -L 24M {lv}")
        drifted = read_back(provider, lv, props)
        assert drifted["live"]["sizes"] == {"node1": 16 * 2**20, "node2": 24 * 2**20}
        assert provider.diff(lv, drifted, props).changes

        # update: grows in place (from the refreshed olds, as `up --refresh` does); shrinking is
        # refused before any host is touched
        bigger = {**props, "size": "32M"}
        assert not provider.diff(lv, drifted, bigger).replaces
        provider.update(lv, drifted, bigger)
        assert [s.strip() for s in on_both(sizes)] == ["32.00", "32.00"]
        # an update that stopped after node1's lvextend is finished by the next one
        ssh("node1", f"lvextend -q -L 40M {lv}")
        provider.update(lv, bigger, {**props, "size": "40M"})
        assert [s.strip() for s in on_both(sizes)] == ["40.00", "40.00"]
        bigger = {**props, "size": "40M"}
        with pytest.raises(HastackError, match="LV_SHRINK|shrinking"):
            provider.update(lv, bigger, props)
        assert [s.strip() for s in on_both(sizes)] == ["40.00", "40.00"]  # untouched

        # a hand delete on one node is drift; on both, the object is gone
        ssh("node1", f"lvremove -q -y {lv}")
        assert read_back(provider, lv, bigger)["live"]["sizes"]["node1"] is None
        provider.delete(lv, bigger)
        assert "lv-probe" not in "".join(on_both(f"lvs --noheadings -o lv_name {hv.volume_group}"))
        assert provider.read(lv, bigger).id is None
        provider.delete(lv, bigger)  # deleting what is gone is not an error
    finally:
        on_both(f"lvremove -q -y {lv}")


@pytest.fixture()
def probe_lv(hv, lv_props):
    provider = LogicalVolumeProvider()
    provider.create(lv_props)
    yield f"/dev/{hv.volume_group}/lv-probe"
    on_both(f"drbdsetup down {NAME}; rm -f /etc/drbd.d/{NAME}.res")
    provider.delete(f"{hv.volume_group}/lv-probe", lv_props)


def test_drbd_resource_lifecycle(drbd_props, probe_lv):
    provider, props = DrbdResourceProvider(), drbd_props
    options = props["options"]
    provider.create(props)
    # Both sides new: the first primary ran on node1, the resync ran, and the role was handed back.
    for text in on_both(f"cat /proc/drbd; cat /etc/drbd.d/{NAME}.res"):
        assert f"{MINOR}: cs:" in text and "ro:Secondary/Secondary" in text
        assert f"device /dev/drbd{MINOR}" in text or f"minor {MINOR}" in text
    assert as_configured(provider, NAME, props)
    assert not provider.diff(NAME, props, props).changes

    # drift: a hand edit of the .res on node2 shows in read and diff
    ssh("node2", f"echo '# hand edit' >> /etc/drbd.d/{NAME}.res")
    drifted = read_back(provider, NAME, props)
    res = drifted["live"]["res_sha256"]
    assert res["node1"] and res["node2"] and res["node1"] != res["node2"] and provider.diff(NAME, drifted, props).changes

    # update in place (drbdadm adjust on both): a new resync rate, and the hand edit is gone
    faster = {**props, "options": {**options, "resync_rate": "50M"}}
    assert not provider.diff(NAME, drifted, faster).replaces
    provider.update(NAME, drifted, faster)  # the refreshed olds, as `up --refresh` passes them
    for text in on_both(f"cat /etc/drbd.d/{NAME}.res"):
        assert "# hand edit" not in text and "resync-rate 50M" in text
    # and the kernel runs what the file says (a dry-run adjust has nothing left to do)
    assert on_both(f"drbdadm --dry-run adjust {NAME}") == ["", ""]
    assert as_configured(provider, NAME, faster)
    assert provider.diff(NAME, props, {**props, "minor": MINOR + 1}).replaces == ["minor"]

    # delete: down on both nodes and the file gone; the LV (another resource) stays
    provider.delete(NAME, faster)
    for text in on_both(f"cat /proc/drbd; ls /etc/drbd.d; lvs {probe_lv}"):
        assert f"{MINOR}: cs:" not in text and f"{NAME}.res" not in text and "lv-probe" in text
    assert provider.read(NAME, faster).id is None


def test_drbd_create_refuses_a_disk_with_data_and_a_minor_in_use_before_any_change(drbd_props, probe_lv):
    """Issue 15's pre-flight: an LV of the VM's name that already holds a filesystem (someone's
    data) is refused on the node that has it, and a minor that another DRBD resource holds is
    refused too; neither node gets a .res file, the filesystem is intact."""
    provider, props = DrbdResourceProvider(), drbd_props
    ssh("node2", f"mkfs.ext4 -q -F {probe_lv} && wipefs --no-act --noheadings --output TYPE {probe_lv}")
    try:
        with pytest.raises(HastackError) as refused:
            provider.create(props)
        assert refused.value.code == "DRBD_DISK_IN_USE" and "node2" in refused.value.message
        assert on_both(f"ls /etc/drbd.d/{NAME}.res 2>/dev/null") == ["", ""]
        assert ssh("node2", f"wipefs --no-act --noheadings --output TYPE {probe_lv}").stdout.split() == ["ext4"]

        ssh("node2", f"wipefs -q -a {probe_lv}")
        ssh("node1", f"drbdsetup new-resource squatter && drbdsetup new-minor squatter {MINOR} 0")
        with pytest.raises(HastackError) as refused:
            provider.create(props)
        assert refused.value.code == "DRBD_MINOR_TAKEN" and "node1" in refused.value.message
        assert on_both(f"ls /etc/drbd.d/{NAME}.res 2>/dev/null") == ["", ""]
    finally:
        ssh("node1", "drbdsetup down squatter", check=False)


def uptodate_on(node: str) -> bool:
    return f"{MINOR}: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate" in ssh(node, "cat /proc/drbd").stdout


def test_drbd_create_on_existing_replicas_keeps_the_newer_data(drbd_props):
    """Both disks already carry DRBD metadata and node2 (not the preferred node) holds the newer
    data: create brings the resource up as it is, with no `create-md` and no forced primary on
    node1, so the resync runs node2 -> node1 and node2's write survives."""
    provider, props = DrbdResourceProvider(), drbd_props
    provider.create(props)
    wait_for(lambda: uptodate_on("node2"), 300, 2, "the first resync")
    token = f"newer-on-node2-{time.time_ns()}"
    ssh("node1", f"drbdadm down {NAME}")
    ssh("node2", f"drbdadm primary {NAME} && printf %s {token} | dd of=/dev/drbd{MINOR} bs=512 count=1 "
                 f"conv=sync,fsync status=none && drbdadm secondary {NAME}")
    on_both(f"drbdadm down {NAME}; rm -f /etc/drbd.d/{NAME}.res")

    provider.create(props)
    wait_for(lambda: uptodate_on("node1"), 300, 2, "the resync from node2")
    read = ssh("node1", f"drbdadm primary {NAME} && dd if=/dev/drbd{MINOR} bs=512 count=1 status=none | tr -d '\\0'; "
                        f"drbdadm secondary {NAME}")
    assert read.stdout == token
    provider.delete(NAME, props)


PATTERN_BYTES = 4 * 2**20  # the first 4 MiB of the device: a known pattern that must survive the grow
PATTERN = (f"yes hastack-resize-probe | head -c {PATTERN_BYTES} | dd of=/dev/drbd{MINOR} bs=1M iflag=fullblock "
           "oflag=direct conv=fsync status=none")
PATTERN_SHA256 = hashlib.sha256((b"hastack-resize-probe\n" * (PATTERN_BYTES // 21 + 1))[:PATTERN_BYTES]).hexdigest()


def device_size_and_sha256(node: str) -> tuple[int, str]:
    """On the node that is Primary (DRBD 8.4 opens a Secondary's device for nobody)."""
    out = ssh(node, f"blockdev --getsize64 /dev/drbd{MINOR}; dd if=/dev/drbd{MINOR} bs=1M count={PATTERN_BYTES // 2**20} "
                    "iflag=direct status=none | sha256sum").stdout.split()
    return int(out[0]), out[1]


def test_drbd_resize_grows_the_device_after_its_lvs_and_keeps_the_data(hv, lv_props, drbd_props):
    """Issue 15: a grown lv_size ran lvextend but never `drbdadm resize`, so the device kept its
    size (its internal metadata sits at the LV's end).  LV 16M -> 32M on both nodes through the LV
    provider, then the DRBD provider's update: the device on the primary is ~16 MiB bigger, the
    data written before is intact on both sides, and both are UpToDate again."""
    lv_provider, provider = LogicalVolumeProvider(), DrbdResourceProvider()
    lv = f"{hv.volume_group}/lv-probe"
    props = {**drbd_props, "size": "16M"}
    try:
        provider.create(props)
        wait_for(lambda: uptodate_on("node2"), 300, 2, "the first resync")
        # node1 (the preferred node, where the resize runs) stays Primary, as with the VM running:
        # DRBD 8.4 resizes only with one side Primary.
        ssh("node1", f"drbdadm primary {NAME} && {PATTERN}")
        before, written = device_size_and_sha256("node1")
        assert written == PATTERN_SHA256

        bigger_lv = {**lv_props, "size": "32M"}
        lv_provider.update(lv, lv_props, bigger_lv)
        sizes = f"lvs --noheadings --nosuffix --units m -o lv_size {lv}"
        assert [s.strip() for s in on_both(sizes)] == ["32.00", "32.00"]
        assert device_size_and_sha256("node1")[0] == before  # the grown LV alone grows nothing (the defect)

        bigger = {**props, "size": "32M"}
        assert not provider.diff(NAME, props, bigger).replaces
        provider.update(NAME, props, bigger)
        after, checksum = device_size_and_sha256("node1")
        assert abs(after - before - 16 * 2**20) < 2**20, (before, after)
        assert checksum == PATTERN_SHA256

        # DRBD resyncs the new area; then the peer's replica has the size and the data too
        ssh("node1", f"drbdadm secondary {NAME}")
        wait_for(lambda: all(uptodate_on(node) for node in HYPERVISORS), 300, 2, "UpToDate on both after the grow")
        ssh("node2", f"drbdadm primary {NAME}")
        assert device_size_and_sha256("node2") == (after, PATTERN_SHA256)
        ssh("node2", f"drbdadm secondary {NAME}")
        assert as_configured(provider, NAME, bigger)
    finally:
        # the probe_lv fixture then takes the resource down on both nodes and removes the LV
        on_both(f"drbdadm secondary {NAME}")


def test_libvirt_domain_lifecycle(hv, base):
    vm = load_stack("lab").vms[0].model_copy(update={"name": NAME, "drbd_minor": MINOR})
    provider = LibvirtDomainProvider()
    props = {**base, "name": NAME, "xml": render_domain_xml(vm, hv.libvirt_domain_type)}
    memory = f"virsh dumpxml --inactive {NAME} | grep -o '<memory unit=.KiB.>[0-9]*'"
    try:
        provider.create(props)
        assert [m.split(">")[-1] for m in on_both(memory)] == ["131072\n", "131072\n"]
        for node in HYPERVISORS:  # defined, never started: Pacemaker owns the running state
            assert ssh(node, f"virsh domstate {NAME}").stdout.strip() == "shut off"
        assert [u.strip() for u in on_both(f"virsh domuuid {NAME}")] == [vm_uuid(NAME)] * 2
        assert as_configured(provider, NAME, props)
        assert not provider.diff(NAME, props, props).changes

        # update: more memory, redefined on both nodes
        bigger = {**props, "xml": props["xml"].replace('<memory unit="MiB">128<', '<memory unit="MiB">192<')}
        assert not provider.diff(NAME, props, bigger).replaces
        provider.update(NAME, props, bigger)
        assert [m.split(">")[-1] for m in on_both(memory)] == ["196608\n", "196608\n"]

        # drift: undefined by hand on node2, then repaired by the update a refresh would lead to
        ssh("node2", f"virsh undefine {NAME}")
        drifted = read_back(provider, NAME, bigger)
        assert drifted["live"]["definitions"]["node2"] is None and provider.diff(NAME, drifted, bigger).changes
        provider.update(NAME, drifted, bigger)
        assert ssh("node2", f"virsh domstate {NAME}").stdout.strip() == "shut off"

        # a definition under another UUID (as hastack made them before stable UUIDs) is replaced
        ssh("node1", f"virsh dumpxml --inactive {NAME} | sed '/<uuid>/d' > /tmp/{NAME}-old.xml && "
                     f"virsh undefine {NAME} && virsh define /tmp/{NAME}-old.xml")
        assert ssh("node1", f"virsh domuuid {NAME}").stdout.strip() != vm_uuid(NAME)
        provider.update(NAME, bigger, props)
        assert [u.strip() for u in on_both(f"virsh domuuid {NAME}")] == [vm_uuid(NAME)] * 2
        assert [m.split(">")[-1] for m in on_both(memory)] == ["131072\n", "131072\n"]

        # where VirtualDomain ran and stopped the VM it leaves no definition, only its config file
        # (it undefines before `virsh create`): that is the definition, not drift
        path = domain_xml_path(NAME)
        ssh("node1", f"cp -p {path} /tmp/{NAME}.keep && virsh undefine {NAME} && cp /tmp/{NAME}.keep {path}")
        assert as_configured(provider, NAME, props)

        # delete: undefined on both, the kept file removed; a second delete is not an error
        provider.delete(NAME, props)
        assert all(NAME not in names for names in on_both("virsh list --all --name"))
        assert on_both(f"test -e {path} && echo left || echo gone") == ["gone\n", "gone\n"]
        assert provider.read(NAME, props).id is None
        provider.delete(NAME, props)
    finally:
        on_both(f"virsh destroy {NAME}; virsh undefine {NAME}")


PROBE_TE = """module hastack_probe {version};
require {{ type virtd_t; type tmp_t; class file {{ {perms} }}; }}
allow virtd_t tmp_t:file {{ {perms} }};
"""


# No lab stack loads a module (the lab's Debian hosts run no SELinux policy of their own), so this
# store is only proven here, and only in the full suite: it would leave the stack's `up` no room in CI.
@full_only("5.5 min: each semodule call rebuilds the policy on both emulated hypervisors")
def test_selinux_module_lifecycle(base):
    provider = SelinuxModuleProvider()
    props = {**base, "name": "hastack_probe", "te": PROBE_TE.format(version="1.0", perms="read"), "priority": 300}
    installed = "semodule -l | grep -x hastack_probe"
    try:
        created = provider.create(props)
        # The lab does not enforce SELinux: installed into the policy store, and the output says so.
        assert set(created.outs["selinux_mode"].values()) <= {"Disabled", "Permissive"}
        assert [o.strip() for o in on_both(installed)] == ["hastack_probe", "hastack_probe"]
        assert as_configured(provider, "hastack_probe", props)

        newer = {**props, "te": PROBE_TE.format(version="1.1", perms="read getattr")}
        provider.update("hastack_probe", props, newer)
        assert all("1.1" in t for t in on_both("cat /var/lib/hastack/selinux/hastack_probe/hastack_probe.te"))

        ssh("node1", "semodule -X 300 -r hastack_probe")
        assert read_back(provider, "hastack_probe", newer)["live"]["modules"]["node1"] == {"installed": False,
                                                                                           "source_sha256": None}
        provider.delete("hastack_probe", newer)
        assert [o.strip() for o in on_both(installed)] == ["", ""]
        assert provider.read("hastack_probe", newer).id is None
    finally:
        on_both("semodule -X 300 -r hastack_probe")


def test_system_account_lifecycle_with_a_lingering_user_manager(base):
    provider = SystemAccountProvider()
    props = {**base, "account": "hastack-probe", "home": "/home/hastack-probe", "linger": False}
    manager = 'systemctl is-active "user@$(id -u hastack-probe).service"'
    try:
        provider.create(props)
        assert [o.strip() for o in on_both("stat -c %U /home/hastack-probe/.ssh")] == ["root", "root"]
        assert as_configured(provider, "hastack-probe", props)

        lingering = {**props, "linger": True}
        assert provider.diff("hastack-probe", props, lingering).replaces == []
        provider.update("hastack-probe", props, lingering)
        # Up before any login (both nodes' lingers run at once: a loaded node is still "activating").
        wait_for(lambda: [o.strip() for o in on_both(manager)] == ["active", "active"], 120, 2,
                 "both nodes' user managers to be active")
        assert as_configured(provider, "hastack-probe", lingering)

        ssh("node2", "loginctl disable-linger hastack-probe")
        accounts = read_back(provider, "hastack-probe", lingering)["live"]["accounts"]
        assert accounts == {"node1": {"exists": True, "linger": True}, "node2": {"exists": True, "linger": False}}
        # Deleted while its user manager runs (node1): userdel alone would refuse.
        provider.delete("hastack-probe", lingering)
        assert [o.strip() for o in on_both("id -u hastack-probe 2>&1 >/dev/null | grep -c 'no such user'")] == ["1", "1"]
        assert provider.read("hastack-probe", lingering).id is None
    finally:
        # Linger off while the user exists (after userdel it is a file no command removes), and the
        # home too: userdel -r keeps one that is not the user's (the provider makes it root's).
        on_both("loginctl disable-linger hastack-probe; loginctl terminate-user hastack-probe; "
                "userdel -r hastack-probe; rm -rf /home/hastack-probe /var/lib/systemd/linger/hastack-probe")


def test_a_module_that_needs_types_the_policy_lacks_is_named(base):
    """The seed's modules name RHEL-only types (cluster_t): the error says so, not just checkmodule's words."""
    te = "module hastack_rhel 1.0;\nrequire { type cluster_t; class file { read }; }\nallow cluster_t cluster_t:file read;\n"
    with pytest.raises(HastackError) as error:
        SelinuxModuleProvider().create({**base, "name": "hastack_rhel", "te": te, "priority": 300})
    assert error.value.code == "SELINUX_POLICY_MISMATCH" and "node1" in str(error.value)
    assert all("hastack_rhel" not in t for t in on_both("semodule -l"))


def test_a_wrong_host_key_refuses_before_any_command(hv, base, tmp_path, live_lab):
    """node1's alias pinned to node2's key: the provider stops at the handshake, naming the host,
    and the command it would have run never ran."""
    pinned = (live_lab / "known_hosts").read_text().splitlines()
    node1, node2 = hv.nodes[0].ssh, hv.nodes[1].ssh
    alias1, alias2 = f"[{node1.host}]:{node1.port}", f"[{node2.host}]:{node2.port}"
    wrong = [line.replace(alias2, alias1, 1) for line in pinned if line.startswith(alias2 + " ")]
    assert wrong, "the lab's known_hosts pins no key for node2"
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(wrong) + "\n")
    shutil.copymode(live_lab / "known_hosts", known)
    nodes = [{"name": "node1", "ssh": {**base["nodes"][0]["ssh"], "known_hosts_file": str(known)}}]
    props = {"layer": "hypervisor", "nodes": nodes, "volume_group": hv.volume_group, "name": "lv-never", "size": "8M"}
    with pytest.raises(HastackError) as error:
        LogicalVolumeProvider().create(props)
    assert error.value.code == "SSH_HOST_KEY_MISMATCH" and "node1" in str(error.value)
    assert "lv-never" not in ssh("node1", f"lvs --noheadings -o lv_name {hv.volume_group}").stdout


def test_preflight_passes_on_the_lab_and_refuses_what_a_host_lacks_before_any_change(hv, base):
    """Issue 15's host pre-flight against the real hosts: the lab as it is passes (read finds
    nothing lacking); a config that wants MTU 9000 on storage2, a bridge no host has and a tool no
    host has is refused, each named per node, and nothing on the hosts changed."""
    from hastack.resources.host_preflight import CLUSTER_COMMANDS, layer_needs
    from providers.host_preflight import HostPreflightProvider

    config = load_stack("lab")
    provider = HostPreflightProvider()
    props = {**base, "commands": [*CLUSTER_COMMANDS, "virsh"], "drbd_dialect": hv.drbd.dialect.value,
             "needs": {n: v.model_dump() for n, v in layer_needs(hv, tuple(b for vm in config.vms for b in vm.networks)).items()}}
    assert provider.create(props).id == "preflight-hypervisor"
    outs = read_back(provider, "preflight-hypervisor", props)
    assert outs["live"]["problems"] == {"node1": [], "node2": []} and outs["live"]["versions"]["node1"]["pacemaker"]
    assert as_configured(provider, "preflight-hypervisor", props)

    before = on_both("ip -o link show; ls /etc")
    wanting = {**props, "commands": [*props["commands"], "hastack-no-such-tool"],
               "needs": {n: {**v, "bridges": [*v["bridges"], "br-nowhere"],
                             "addresses": [{**a, "mtu": 9000} if a["what"] == "ring storage2" else a
                                           for a in v["addresses"]]} for n, v in props["needs"].items()}}
    with pytest.raises(HastackError) as refused:
        provider.create(wanting)
    message = str(refused.value)
    for node in HYPERVISORS:
        assert f"{node}: `hastack-no-such-tool` is not installed" in message
        assert f"{node}: br-stor2 (ring storage2) has MTU 1500, the config says 9000" in message
        assert f"{node}: bridge br-nowhere (a VM's network) does not exist" in message
    # An update to those needs is checked again before anything, and refused the same way.
    with pytest.raises(HastackError):
        provider.update("preflight-hypervisor", outs, wanting)
    assert on_both("ip -o link show; ls /etc") == before
