"""The lab5 render, fed to the real tools that will consume it on the hosts."""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hastack.render.drbd_agent import AGENT_PATH, is_patched

pytestmark = pytest.mark.tools

VMS = ("gw1", "gw2", "mgmt", "nagios", "pg1", "pg2")


def tool(argv, check=True, **kw) -> subprocess.CompletedProcess:
    process = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check:
        assert process.returncode == 0, f"{argv}: rc {process.returncode}\n{process.stdout}\n{process.stderr}"
    return process


def test_render_writes_every_artefact(lab5_render):
    expected = ["hypervisor/cib.xml", "guest/cib.xml", "hypervisor/drbd/global_common.conf", "guest/drbd/pgdata.res",
                "guest/drbd/global_common.conf", "selinux/drbd-allow.te", "selinux/drbd-netlink2.te",
                "hypervisor/files/usr/local/sbin/fence-vm", "hypervisor/files/etc/sudoers.d/fence-agent-virsh",
                "hypervisor/files/home/fence-agent/.ssh/authorized_keys", "guest/files/usr/sbin/fence_pgrestart",
                "guest/files/etc/fence-agent/known_hosts", "hypervisor/corosync/corosync.conf",
                "hypervisor/firewall/node1.nft", "hypervisor/firewall/node2.nft", "guest/firewall/pg1.nft",
                "guest/firewall/pg2.nft"]
    expected += [f"hypervisor/drbd/{vm}.res" for vm in VMS] + [f"hypervisor/libvirt/{vm}.xml" for vm in VMS]
    missing = [p for p in expected if not (lab5_render / p).is_file()]
    assert not missing
    # The guest's private fence key is a secret: listed as a step, never written by render.
    assert not (lab5_render / "guest/files/etc/fence-agent/id_ed25519").exists()
    assert "write /etc/fence-agent/id_ed25519 mode 0o600 (secret)" in (lab5_render / "guest/commands/pg1.sh").read_text()


@pytest.mark.parametrize("layer", ["hypervisor", "guest"])
def test_crm_verify_accepts_the_cib(lab5_render, layer):
    result = tool(["crm_verify", "--xml-file", str(lab5_render / layer / "cib.xml"), "-V"])
    assert "error" not in (result.stdout + result.stderr).lower()


def test_the_cib_holds_the_seeds_objects(lab5_render):
    from hastack.pacemaker import constraint, primitive
    from hastack.pacemaker.cluster_config import read_properties, read_resource_defaults

    cib = (lab5_render / "hypervisor/cib.xml").read_text()
    assert read_properties(cib)["stonith-enabled"] == "true"
    assert read_resource_defaults(cib) == {"resource-stickiness": "1"}
    fence2 = primitive.read(cib, "fence-node2")
    assert fence2.params["pcmk_delay_base"] == "15s" and fence2.params["pcmk_delay_max"] == "30s"
    assert "pcmk_delay_base" not in primitive.read(cib, "fence-node1").params
    assert fence2.params["password"] == "********"  # masked: render never sees the secret
    assert constraint.read(cib, "loc-fence-node1-avoids-node1").score == "-INFINITY"
    for vm in VMS:
        clone = primitive.read(cib, f"drbd-{vm}").promotable.meta
        assert clone["promoted-max"] == "1" and clone["clone-max"] == "2" and clone["notify"] == "true"
        assert constraint.read(cib, f"col-{vm}-vm-with-drbd-{vm}-clone").with_role == "Promoted"
        order = constraint.read(cib, f"ord-drbd-{vm}-clone-then-{vm}-vm")
        assert (order.first_action, order.then_action) == ("promote", "start")
        # Enabled at the end of the render, i.e. after its constraints were in place.
        assert "target-role" not in primitive.read(cib, f"{vm}-vm").meta


@pytest.mark.parametrize("layer", ["hypervisor", "guest"])
def test_nothing_startable_is_unconstrained_and_a_missing_constraint_is_caught(lab5_render, layer, tmp_path):
    from hastack.pacemaker.constraint import unguarded_resources

    cib = lab5_render / layer / "cib.xml"
    assert unguarded_resources(cib.read_text()) == []
    broken = tmp_path / "cib.xml"
    broken.write_bytes(cib.read_bytes())
    resource, constraint = (("gw1-vm", "col-gw1-vm-with-drbd-gw1-clone") if layer == "hypervisor"
                            else ("pgsql", "ord-pgdata-fs-then-pgsql"))
    tool(["pcs", "-f", str(broken), "constraint", "delete", constraint])
    assert unguarded_resources(broken.read_text()) == [
        f"{resource} may start without its {'colocation' if layer == 'hypervisor' else 'order'} constraint"]
    tool(["pcs", "-f", str(broken), "resource", "disable", resource])
    assert unguarded_resources(broken.read_text()) == []  # disabled: nothing can start


def _drbd_conf(tmp_path: Path, drbd_dir: Path, resource: str) -> Path:
    conf = tmp_path / f"{resource}.conf"
    conf.write_text(f'include "{drbd_dir}/global_common.conf";\ninclude "{drbd_dir}/{resource}.res";\n')
    return conf


def _as_host(hostname: str, argv: list[str]) -> subprocess.CompletedProcess:
    """Run as if on that host: a private UTS (hostname) and network namespace."""
    script = 'hostname "$1"; shift; exec "$@"'
    return tool(["unshare", "--uts", "--net", "sh", "-c", script, "sh", hostname, *argv], check=False)


@pytest.mark.parametrize("resource,hosts,minor", [(vm, ("node1.lab5.decoursey.com", "node2.lab5.decoursey.com"), i)
                                                  for i, vm in enumerate(VMS)]
                         + [("pgdata", ("pg1.lab5.decoursey.com", "pg2.lab5.decoursey.com"), 0)])
def test_drbdadm_reads_the_resource_on_both_hosts(lab5_render, tmp_path, resource, hosts, minor):
    layer = "guest" if resource == "pgdata" else "hypervisor"
    conf = _drbd_conf(tmp_path, lab5_render / layer / "drbd", resource)
    for host in hosts:
        dump = _as_host(host, ["drbdadm", "-c", str(conf), "dump", resource])
        assert dump.returncode == 0, dump.stderr
        create = _as_host(host, ["drbdadm", "-c", str(conf), "-d", "create-md", resource])
        assert create.returncode == 0 and f"drbdmeta {minor} v09" in create.stdout, create.stderr
        up = _as_host(host, ["drbdadm", "-c", str(conf), "-d", "up", resource])
        assert up.returncode == 0, up.stderr
        paths = [line for line in up.stdout.splitlines() if " new-path " in line]
        assert len(paths) == 2, up.stdout  # DRBD 9: one path per storage network
        assert "--protocol=C" in up.stdout and "--fencing=resource-and-stonith" in up.stdout


def test_drbd_84_dialect_with_the_84_tools(tmp_path):
    """DRBD 8.4 (stock kernels, the lab): one address pair, fencing under disk."""
    from hastack.config.models import DrbdOptions
    from hastack.render.drbd import DrbdHost, render_global_common, render_resource

    options = DrbdOptions(dialect="8.4")
    (tmp_path / "global_common.conf").write_text(render_global_common(options))
    hosts = (DrbdHost("n1", ("10.77.2.1", "10.77.3.1")), DrbdHost("n2", ("10.77.2.2", "10.77.3.2")))
    (tmp_path / "vm1.res").write_text(render_resource("vm1", 1, "/dev/vg-data/lv-vm1", hosts, (7789,), options))
    conf = _drbd_conf(tmp_path, tmp_path, "vm1")
    up = _as_host("n1", ["/usr/lib/drbd/drbdadm-84", "-c", str(conf), "-d", "up", "vm1"])
    assert up.returncode == 0, up.stderr
    assert "connect vm1 ipv4:10.77.2.1:7789 ipv4:10.77.2.2:7789" in up.stdout
    assert "--fencing=resource-and-stonith" in up.stdout


@pytest.fixture
def loop_disk(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(b"")
    os.truncate(image, 64 * 2**20)
    device = tool(["losetup", "--find", "--show", str(image)]).stdout.strip()
    yield device
    tool(["losetup", "--detach", device], check=False)


def test_the_drbd_probe_tells_metadata_that_never_held_data(tmp_path, loop_disk):
    """DrbdResource's probe, run by sh with the 8.4 tools against a real disk: only a side whose
    generation UUID is still "just created" may take part in the first `primary --force`."""
    from hastack.config.models import DrbdOptions
    from hastack.render.drbd import DrbdHost, render_resource
    from hastack.resources.drbd_resource import PROBE

    hosts = (DrbdHost("n1", ("10.77.2.1",)), DrbdHost("n2", ("10.77.2.2",)))
    (tmp_path / "vm1.res").write_text(render_resource("vm1", 9, loop_disk, hosts, (7789,), DrbdOptions(dialect="8.4")))
    conf = tmp_path / "drbd.conf"
    conf.write_text(f'include "{tmp_path}/vm1.res";\n')
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "drbdadm").write_text(f'#!/bin/sh\nexec /usr/lib/drbd/drbdadm-84 -c "{conf}" "$@"\n')
    (shim / "drbdadm").chmod(0o755)
    path = f"PATH={shim}:{os.environ['PATH']}"

    def probe() -> str:
        return _as_host("n1", ["env", path, "sh", "-c", PROBE, "sh", "vm1", loop_disk]).stdout.strip()

    assert probe() == "new"
    assert _as_host("n1", ["env", path, "drbdadm", "create-md", "--force", "vm1"]).returncode == 0
    assert probe() == "md-blank"  # a create that stopped after create-md: still no data
    tool(["drbdmeta", "--force", "9", "v08", loop_disk, "internal", "set-gi", "7A6B5189351F705D:0:0:0:1:1:1:0:0:1:0"])
    assert probe() == "md"  # has been primary: never forced over


@pytest.mark.parametrize("vm", VMS)
def test_virt_xml_validate_accepts_the_domain(lab5_render, vm):
    tool(["virt-xml-validate", str(lab5_render / "hypervisor/libvirt" / f"{vm}.xml"), "domain"])


def test_every_domain_has_its_own_stable_uuid(lab5_render):
    """libvirt redefines a domain only under the UUID it was defined with: the rendered one must
    not change between runs or nodes, and must differ between VMs."""
    from hastack.render.libvirt import vm_uuid

    uuids = {vm: ET.parse(lab5_render / "hypervisor/libvirt" / f"{vm}.xml").getroot().findtext("uuid") for vm in VMS}
    assert uuids == {vm: vm_uuid(vm) for vm in VMS} and len(set(uuids.values())) == len(VMS)


@pytest.mark.parametrize("module", ["drbd-allow", "drbd-netlink2"])
def test_selinux_module_compiles_and_packages(lab5_render, tmp_path, module):
    te = lab5_render / "selinux" / f"{module}.te"
    mod, pp = tmp_path / f"{module}.mod", tmp_path / f"{module}.pp"
    tool(["checkmodule", "-M", "-m", "-o", str(mod), str(te)])
    tool(["semodule_package", "-o", str(pp), "-m", str(mod)])
    assert pp.stat().st_size > 0


def test_corosync_accepts_the_config(lab5_render, tmp_path):
    key = tmp_path / "authkey"
    key.write_bytes(os.urandom(256))
    conf = (lab5_render / "hypervisor/corosync/corosync.conf").read_text()
    # Only the key's location changes, so the test needs no file in /etc.
    (tmp_path / "corosync.conf").write_text(conf.replace("totem {", f"totem {{\n    keyfile: {key}", 1))
    # As node1: its ring addresses on the loopback of a private network namespace.
    script = ('ip link set lo up; ip addr add 192.168.2.21/24 dev lo; ip addr add 192.168.3.21/24 dev lo; '
              'exec corosync -t -c "$1"')
    result = tool(["unshare", "--net", "sh", "-c", script, "sh", str(tmp_path / "corosync.conf")], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = conf.replace("two_node: 1", "two_node: yes")
    (tmp_path / "corosync.conf").write_text(broken.replace("totem {", f"totem {{\n    keyfile: {key}", 1))
    result = tool(["unshare", "--net", "sh", "-c", script, "sh", str(tmp_path / "corosync.conf")], check=False)
    assert result.returncode != 0 and "two_node" in result.stdout + result.stderr


def test_sudoers_rule_is_valid_and_exact(lab5_render):
    path = lab5_render / "hypervisor/files/etc/sudoers.d/fence-agent-virsh"
    tool(["visudo", "-c", "-q", "-f", str(path)])
    rule = path.read_text()
    assert "virsh destroy pg1," in rule and "virsh destroy pg2" in rule and "*" not in rule


@pytest.mark.parametrize("script", ["hypervisor/files/usr/local/sbin/fence-vm", "guest/files/usr/sbin/fence_pgrestart"])
def test_scripts_parse(lab5_render, script):
    tool(["bash", "-n", str(lab5_render / script)])


def test_agent_metadata_is_xml(lab5_render):
    import xml.etree.ElementTree as ET

    out = tool(["bash", str(lab5_render / "guest/files/usr/sbin/fence_pgrestart"), "-o", "metadata"]).stdout
    assert ET.fromstring(out).get("name") == "fence_pgrestart"


def test_drbd_agent_patch_on_the_real_agent(lab5_render, tmp_path):
    agent = tmp_path / "drbd"
    shutil.copy(AGENT_PATH, agent)
    assert not is_patched(agent.read_text())
    sed = lab5_render / "hypervisor/files/var/lib/hastack/drbd-agent.sed"
    tool(["sed", "-i", "-f", str(sed), str(agent)])
    text = agent.read_text()
    assert is_patched(text)
    assert "crm_attribute --promotion -q -G" in text and "crm_attribute --promotion -Q -v" in text
    tool(["bash", "-n", str(agent)])
    # Applying it again changes nothing (idempotent, so `up` may re-run it).
    tool(["sed", "-i", "-f", str(sed), str(agent)])
    assert agent.read_text() == text


def test_pcs_batch_builds_the_same_cib_as_one_pcs_per_command(lab5_render, tmp_path):
    """render and up run pcs commands in one pcs process; prove it equals `pcs -f` per command."""
    import os as _os

    from hastack import cib

    commands = [line.split(" ", 1)[1] for line in (lab5_render / "hypervisor/commands/cluster.sh").read_text().splitlines()
                if line.startswith("pcs ") and "pg1" in line]
    argvs = [__import__("shlex").split(c) for c in commands]
    assert len(argvs) >= 6
    batched = cib.apply_pcs(cib.empty_cib(), argvs)
    path = tmp_path / "cib.xml"
    path.write_text(cib.empty_cib())
    for argv in argvs:
        tool(["pcs", "-f", str(path), *argv], env=dict(_os.environ, CIB_file=str(path)))
    assert batched == path.read_text()


def test_selinux_modules_against_debians_reference_policy(lab5_render, tmp_path):
    """Link each module into a copy of Debian's policy store (nothing on this machine changes).
    The guest module links; the hypervisor's drbd-allow needs cluster_t and cluster_var_log_t,
    which exist in RHEL's targeted policy only: the expected, reported difference."""
    store = Path("/var/lib/selinux/default")
    assert store.is_dir(), "bin/setup installs selinux-policy-default"
    root = tmp_path / "root"
    (root / "var/lib").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copytree("/var/lib/selinux", root / "var/lib/selinux", symlinks=True)
    shutil.copytree("/etc/selinux", root / "etc/selinux", symlinks=True)
    results = {}
    for module in ("drbd-netlink2", "drbd-allow"):
        mod, pp = tmp_path / f"{module}.mod", tmp_path / f"{module}.pp"
        tool(["checkmodule", "-M", "-m", "-o", str(mod), str(lab5_render / "selinux" / f"{module}.te")])
        tool(["semodule_package", "-o", str(pp), "-m", str(mod)])
        results[module] = tool(["semodule", "-p", str(root), "-s", "default", "-n", "-X", "300", "-i", str(pp)],
                               check=False, cwd=tmp_path)
    assert results["drbd-netlink2"].returncode == 0, results["drbd-netlink2"].stderr
    listed = tool(["semodule", "-p", str(root), "-s", "default", "-l"]).stdout.split()
    assert "drbd-netlink2" in listed
    assert results["drbd-allow"].returncode != 0
    assert "Failed to resolve" in results["drbd-allow"].stderr + results["drbd-allow"].stdout
