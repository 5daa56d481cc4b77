"""Host resources' plans, probes and live state (hastack/resources), against scripted transports."""
from __future__ import annotations

import os
import subprocess

import pytest

from hastack.apply import apply_live
from hastack.config.models import DrbdOptions
from hastack.plan import Put, Run, sequential
from hastack.reports import HastackError
from hastack.resources import corosync_cluster as corosync
from hastack.resources import drbd_resource as drbd
from hastack.resources import libvirt_domain, system_account, systemd_unit
from hastack.resources import logical_volume as lv
from hastack.resources import registry
from hastack.transport import Result
from hastack.transport.local import LocalTransport
from hastack.transport.scripted import ScriptedTransport

NODES = [{"name": "node1", "ssh": {"host": "127.0.0.1", "port": 2201, "known_hosts_file": "x"}},
         {"name": "node2", "ssh": {"host": "127.0.0.1", "port": 2202, "known_hosts_file": "x"}}]


def drbd_props(**over) -> drbd.DrbdResourceProps:
    base = dict(layer="hypervisor", nodes=NODES, name="pg1", minor=4, disk="/dev/vg-data/lv-pg1",
                hosts=(("node1.x", ("10.77.2.1", "10.77.3.1")), ("node2.x", ("10.77.2.2", "10.77.3.2"))),
                ports=(7797, 7798), options=DrbdOptions(dialect="9"), preferred_node="node1",
                initial_fill=(("qemu-img", "convert", "-O", "raw", "img", "/dev/drbd4"),))
    base.update(over)
    return drbd.DrbdResourceProps.model_validate(base)


def lv_props(size="16M") -> lv.LogicalVolumeProps:
    return lv.LogicalVolumeProps(layer="hypervisor", nodes=NODES, volume_group="vg-data", name="lv-pg1", size=size)


def commands(plan, target=None):
    return [(t, unwrapped(s.argv) if isinstance(s, Run) else ("put", s.path)) for t, s in sequential(plan)
            if target in (None, t)]


def unwrapped(argv: tuple[str, ...]) -> tuple[str, ...]:
    """A patient drbdadm step read as the drbdadm command it runs."""
    return ("drbdadm", *argv[4:]) if argv[:3] == ("sh", "-c", drbd.PATIENT_DRBDADM) else argv


def stand_in(tmp_path, name: str, body: str) -> dict:
    """An executable `name` in tmp_path running `body` (a sh script); the environment that finds it first."""
    script = tmp_path / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def hosts(**answers) -> dict[str, ScriptedTransport]:
    return {n: ScriptedTransport(n, answers=answers.get(n)) for n in ("node1", "node2")}


def test_drbd_fresh_pair_gets_metadata_up_and_one_forced_primary():
    steps = commands(drbd.plan_create(drbd_props(), {"node1": "new", "node2": "new"}))
    for node in ("node1", "node2"):
        assert (node, ("put", drbd.res_path("pg1"))) in steps
        assert (node, ("drbdadm", "create-md", "--force", "pg1")) in steps
        assert (node, ("drbdadm", "up", "pg1")) in steps
    forced = [s for s in steps if s[1][:2] == ("drbdadm", "primary")]
    assert forced == [("node1", ("drbdadm", "primary", "--force", "pg1"))]
    tail = [s[1][0] for s in steps if s[0] == "node1"][-3:]
    assert tail == ["drbdadm", "qemu-img", "drbdadm"]  # primary, fill, hand back to secondary


@pytest.mark.parametrize("args, first_rc, calls, rc", [
    (("up", "pg1"), 0, ["up pg1"], 0), (("up", "pg1"), 20, ["up pg1", "adjust pg1"], 0),
    (("primary", "--force", "pg1"), 20, ["primary --force pg1"] * 2, 0), (("up", "pg1"), 10, ["up pg1"], 10)])
def test_drbdadm_is_run_again_only_when_it_gave_up_waiting_on_drbdsetup(tmp_path, args, first_rc, calls, rc):
    """drbdadm's exit 20 is its own 5 s wait on a drbdsetup running out (the drbdsetup goes on);
    any other failure is DRBD's answer and stands.  (A stand-in drbdadm: the timeout needs a
    hypervisor slower than this machine.)"""
    log = tmp_path / "calls"
    env = stand_in(tmp_path, "drbdadm", f'echo "$*" >> {log}\n[ "$(wc -l < {log})" -eq 1 ] && exit {first_rc}\nexit 0\n')
    run = subprocess.run(drbd.drbdadm(*args).argv, env=env, capture_output=True, text=True)
    assert (run.returncode, log.read_text().splitlines()) == (rc, calls)
    assert ("drbdadm gave up waiting on a slow drbdsetup" in run.stderr) == (first_rc == 20)


@pytest.mark.parametrize("found", [{"node1": "up-blank", "node2": "new"}, {"node1": "md-blank", "node2": "up-blank"}])
def test_drbd_completes_a_create_that_stopped_before_the_first_primary(found):
    """A create that failed after node1's create-md and up left metadata that never held data:
    the next up still makes the first primary."""
    steps = commands(drbd.plan_create(drbd_props(), found))
    assert [s for s in steps if s[1][:2] == ("drbdadm", "primary")] == [("node1", ("drbdadm", "primary", "--force", "pg1"))]
    assert [s[0] for s in steps if s[1][:2] == ("drbdadm", "create-md")] == [n for n, f in found.items() if f == "new"]
    for node, state in found.items():
        assert (node, ("drbdadm", "adjust" if state.startswith("up") else "up", "pg1")) in steps


@pytest.mark.parametrize("found", [{"node1": "md", "node2": "new"}, {"node1": "up", "node2": "up"},
                                   {"node1": "up-blank", "node2": "md"}])
def test_drbd_never_overwrites_existing_metadata_or_forces_primary(found):
    steps = commands(drbd.plan_create(drbd_props(), found))
    assert not any(s[1][:2] == ("drbdadm", "primary") for s in steps)
    assert not any(s[1][:2] == ("drbdadm", "create-md") and found[s[0]] != "new" for s in steps)
    assert not any(s[1][0] == "qemu-img" for s in steps)
    if found["node1"] == "up":
        assert ("node1", ("drbdadm", "adjust", "pg1")) in steps


def test_drbd_find_reads_each_side_and_refuses_a_host_of_another_name():
    side = "sh -c 'uname -n; "
    found = drbd.find(drbd_props(), hosts(node1={side: Result(0, "node1.x\nup-blank\n", "")},
                                          node2={side: Result(0, "node2.x\nnew\n", "")}).__getitem__)
    assert found == {"node1": "up-blank", "node2": "new"}
    with pytest.raises(HastackError, match="NODE_NAME_MISMATCH"):
        drbd.find(drbd_props(), hosts(node1={side: Result(0, "other\nnew\n", "")}).__getitem__)


def _grow(old_size="16M", new_size="32M"):
    """A VM's lv_size grown: its LV's update, then its DRBD resource's (which depends on the LV)."""
    return (lv.plan_update(lv_props(old_size), lv_props(new_size), None)
            + drbd.plan_update(drbd_props(size=old_size), drbd_props(size=new_size), None))


def test_a_grown_lv_size_grows_the_drbd_device_once_after_both_lvs():
    steps = commands(_grow())
    resizes = [i for i, (_, argv) in enumerate(steps) if argv == ("sh", "-c", drbd.RESIZE, "sh", "pg1")]
    extends = [i for i, (_, argv) in enumerate(steps) if argv[:3] == ("sh", "-c", lv.EXTEND)]
    assert len(resizes) == 1 and steps[resizes[0]][0] == "node1"  # one node: the preferred one
    assert len(extends) == 2 and max(extends) < resizes[0]
    assert sum("resize" in " ".join(argv) for _, argv in steps) == 1
    # in place: no metadata made, nothing taken down or forced
    assert not any(argv[:2] in (("drbdadm", "create-md"), ("drbdadm", "down"), ("drbdadm", "primary"))
                   for _, argv in steps)
    assert "size" not in drbd.REPLACED


def test_the_same_size_or_no_size_never_resizes():
    for old, new in ((drbd_props(size="32M"), drbd_props(size="32M")), (drbd_props(), drbd_props())):
        assert not any("resize" in " ".join(argv) for _, argv in commands(drbd.plan_update(old, new, None)))


def test_a_drbd_state_recorded_before_size_is_only_recorded():
    """The first `up` after `size` came: nothing to do on a host; alongside another change (or
    drift) the size is taken as configured, so nothing grows."""
    assert drbd.plan_update(drbd_props(), drbd_props(size="32M"), None) == ()
    faster = drbd_props(size="32M", options=DrbdOptions(dialect="9", resync_rate="50M"))
    for old, live in ((drbd_props(), None),
                      (drbd_props(size=None), drbd.DrbdResourceLive(res_sha256={"node1": "x", "node2": None}))):
        new = faster if live is None else drbd_props(size="32M")
        steps = commands(drbd.plan_update(old, new, live))
        assert ("node1", ("drbdadm", "adjust", "pg1")) in steps
        assert not any("resize" in " ".join(argv) for _, argv in steps)


@pytest.fixture()
def fake_drbdadm(tmp_path):
    """A drbdadm that logs its arguments and answers `cstate` with $CSTATE; `resize` exits
    $RESIZE_RC with $RESIZE_ERR (what DRBD 8.4 prints when no side is Primary)."""
    path = stand_in(tmp_path, "drbdadm", 'echo "$*" >> "$LOG"\n'
                    'case "$1" in cstate) echo "$CSTATE";; resize) [ -n "$RESIZE_ERR" ] && echo "$RESIZE_ERR" >&2; '
                    'exit "${RESIZE_RC:-0}";; esac\n')["PATH"]

    def host(**env):
        return LocalTransport("node1", env={"PATH": path, "LOG": str(tmp_path / "log"), **env})
    return host, tmp_path / "log"


def _resize_step():
    return tuple((t, s) for t, s in sequential(drbd.plan_update(drbd_props(size="16M"), drbd_props(size="32M"), None))
                 if isinstance(s, Run) and s.argv[:3] == ("sh", "-c", drbd.RESIZE))


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


def test_a_drbd_res_file_edited_or_missing_is_drift_in_the_live_state():
    props, text = drbd_props(), drbd.res_text(drbd_props()).encode()
    nodes = hosts()
    assert drbd.observe(props, nodes.__getitem__) is None  # on no node: gone
    nodes["node1"].files[drbd.res_path("pg1")] = text
    live = drbd.observe(props, nodes.__getitem__)
    assert live.res_sha256["node2"] is None and drbd.drifted(props, live) == ("hosts",)
    nodes["node2"].files[drbd.res_path("pg1")] = text + b"# hand edit\n"
    assert drbd.drifted(props, drbd.observe(props, nodes.__getitem__)) == ("options",)
    nodes["node2"].files[drbd.res_path("pg1")] = text
    assert drbd.drifted(props, drbd.observe(props, nodes.__getitem__)) == ()


def test_lv_shrink_and_size_mismatch_are_refused():
    props = lv_props("40G")
    with pytest.raises(HastackError, match="LV_EXISTS"):
        lv.plan_create(props, lv.LogicalVolumeLive(sizes={"node1": 10 * 2**30, "node2": None}))
    with pytest.raises(HastackError, match="only grows"):
        lv.plan_update(props, lv_props("20G"), None)
    assert commands(lv.plan_create(props, lv.LogicalVolumeLive(sizes={"node1": 40 * 2**30, "node2": None}))) == [
        ("node2", ("lvcreate", "--yes", "--wipesignatures", "y", "--zero", "y", "-L", "40G", "-n", "lv-pg1", "vg-data"))]


def test_lv_sizes_are_read_per_node_and_a_missing_lv_is_drift():
    lvs = "lvs --noheadings"
    nodes = hosts(node1={lvs: Result(0, "  16777216\n", "")}, node2={lvs: Result(5, "", "not found")})
    live = lv.observe(lv_props(), nodes.__getitem__)
    assert live == lv.LogicalVolumeLive(sizes={"node1": 16 * 2**20, "node2": None})
    assert lv.drifted(lv_props(), live) == ("size",) and lv.drifted(lv_props(), live.model_copy(
        update={"sizes": {"node1": 16 * 2**20, "node2": 16 * 2**20}})) == ()
    assert lv.observe(lv_props(), hosts(node1={lvs: Result(5, "", "")}, node2={lvs: Result(5, "", "")}).__getitem__) is None


def test_a_failed_step_says_what_was_applied_and_what_is_left():
    nodes = {"node1": ScriptedTransport("node1"), "node2": ScriptedTransport("node2", fail_on="create-md")}
    with pytest.raises(HastackError) as caught:
        apply_live(drbd.plan_create(drbd_props(), {"node1": "new", "node2": "new"}), nodes.__getitem__)
    message = str(caught.value)
    assert "on node2: `drbdadm create-md --force pg1` exited 1: scripted failure" in message
    assert "applied before the failure: ['node1: write /etc/drbd.d/pg1.res" in message
    assert "not applied: ['node2: sh -c " in message and "sh up pg1', 'node1: sh -c " in message
    assert not any("primary" in c for c in nodes["node1"].calls)


def cluster_props(**over) -> corosync.CorosyncClusterProps:
    return corosync.CorosyncClusterProps(layer="hypervisor", nodes=NODES, cluster_name="lab",
                                         ring_addresses={"node1": ("10.0.0.1",), "node2": ("10.0.0.2",)}, **over)


def test_a_half_created_cluster_keeps_its_authkey():
    """A create that failed on one node after the other had its conf and key: the retry reuses
    that key and re-keys the other (a new random key would split the cluster)."""
    key_a, key_b, new = b"A" * 256, b"B" * 256, b"N" * 256
    assert corosync.cluster_key({"pg1": "same", "pg2": "fresh"}, {"pg1": key_a}) == (key_a, {"pg1": "same", "pg2": "fresh"})
    assert corosync.cluster_key({"pg1": "same", "pg2": "same"}, {"pg1": key_a, "pg2": key_b}) == (
        key_a, {"pg1": "same", "pg2": "rekey"})
    assert corosync.cluster_key({"pg1": "fresh", "pg2": "fresh"}, {}, new) == (new, {"pg1": "fresh", "pg2": "fresh"})

    found = corosync.Found(confs={"node1": "same", "node2": "same"}, keys={"node1": key_a, "node2": key_b}, new_key=new)
    plan = sequential(corosync.plan_create(cluster_props(), found))
    node2 = [step for target, step in plan if target == "node2"]
    assert any(isinstance(s, Put) and s.path == corosync.AUTHKEY and s.content == key_a and s.secret for s in node2)
    assert not any(isinstance(s, Run) and "rm -f" in " ".join(s.argv) for s in node2)  # its CIB is kept
    assert not any(isinstance(s, Put) and s.path == corosync.AUTHKEY for t, s in plan if t == "node1")


def test_a_node_of_another_cluster_of_the_same_name_is_refused():
    nodes = hosts(node1={"uname -n": Result(0, "node1\n", "")}, node2={"uname -n": Result(0, "node2\n", "")})
    nodes["node2"].files[corosync.CONF] = b"totem {\n    cluster_name: lab\n}\n"
    with pytest.raises(HastackError, match="CLUSTER_EXISTS: node2 already runs cluster lab"):
        corosync.find(cluster_props(), nodes.__getitem__)
    nodes["node2"].files[corosync.CONF] = corosync.conf_text(cluster_props()).encode()
    nodes["node2"].files[corosync.AUTHKEY] = b"K" * 256
    found = corosync.find(cluster_props(), nodes.__getitem__)
    assert found.confs == {"node1": "fresh", "node2": "same"} and found.keys == {"node2": b"K" * 256}


def test_differing_authkeys_are_live_state_that_up_refuses_to_guess():
    props = cluster_props()
    nodes = hosts()
    for name, key in (("node1", b"a" * 256), ("node2", b"b" * 256)):
        nodes[name].files.update({corosync.CONF: corosync.conf_text(props).encode(), corosync.AUTHKEY: key})
    live = corosync.observe(props, nodes.__getitem__)
    assert live.authkey_differs_on == ("node1", "node2") and corosync.drifted(props, live) == ("authkey",)
    with pytest.raises(HastackError) as caught:
        corosync.plan_update(props, props, live)
    assert caught.value.code == "AUTHKEY_DIFFERS" and "between node1 and node2" in str(caught.value)
    assert "/etc/corosync/authkey" in str(caught.value)
    nodes["node2"].files[corosync.AUTHKEY] = b"a" * 256
    live = corosync.observe(props, nodes.__getitem__)
    assert corosync.drifted(props, live) == ()
    assert any(isinstance(s, Put) and s.path == corosync.CONF for _, s in sequential(corosync.plan_update(props, props, live)))


def test_deleting_a_cluster_stops_it_then_removes_its_key_and_cib_on_every_node():
    """Like `pcs cluster destroy`: no cluster secret and no CIB (node ids, cluster-name) left to
    be carried into the next cluster made on these hosts."""
    plan = sequential(corosync.plan_delete(cluster_props()))
    for node in ("node1", "node2"):
        argvs = [s.argv for t, s in plan if t == node]
        assert argvs[0] == ("systemctl", "disable", "--now", "pacemaker", "corosync")
        removed = " ".join(" ".join(a) for a in argvs[1:])
        assert corosync.CONF in removed and corosync.AUTHKEY in removed and "/var/lib/pacemaker/cib/cib*" in removed


def test_a_domain_pacemaker_stopped_is_read_from_the_config_file_it_left():
    """VirtualDomain undefines a domain before `virsh create` and puts its config file back, so a
    node the VM moved away from has only the file: that is its definition, not drift."""
    from hastack.config.load import load_stack
    from hastack.render.libvirt import domain_xml_path, render_domain_xml

    xml = render_domain_xml(load_stack("lab5").vm("pg1"))
    props = libvirt_domain.LibvirtDomainProps(layer="hypervisor", nodes=NODES, name="pg1", xml=xml)
    nodes = hosts(node1={"virsh dumpxml": Result(1, "", "error: failed to get domain 'pg1'")},
                  node2={"virsh dumpxml": Result(0, xml, "")})
    nodes["node1"].files[domain_xml_path("pg1")] = ("<!-- WARNING: auto-generated -->\n" + xml).encode()
    live = libvirt_domain.observe(props, nodes.__getitem__)
    assert live.definitions["node1"] == libvirt_domain.parse_domain(xml) and libvirt_domain.drifted(props, live) == ()
    del nodes["node1"].files[domain_xml_path("pg1")]
    live = libvirt_domain.observe(props, nodes.__getitem__)
    assert live.definitions["node1"] is None and libvirt_domain.drifted(props, live) == ("xml",)
    [(_, step)] = [(t, s) for t, s in sequential(libvirt_domain.plan_delete(props)) if t == "node1"]
    assert domain_xml_path("pg1") in step.argv and "rm -f" in step.argv[2]


def test_a_system_account_changes_linger_in_place_and_never_deletes_the_account_to_do_so():
    old = system_account.SystemAccountProps(layer="hypervisor", nodes=NODES, account="fence-agent",
                                            home="/home/fence-agent")
    new = old.model_copy(update={"linger": True})
    up = [argv for _, argv in commands(system_account.plan_update(old, new, None))]
    assert len(up) == 2 and not any("userdel" in argv[2] for argv in up)
    assert all(argv[-1] == "yes" and "enable-linger" in argv[2] for argv in up)
    down = [argv for _, argv in commands(system_account.plan_update(new, old, None))]
    assert [argv[-1] for argv in down if "disable-linger" in argv[2]] == ["fence-agent", "fence-agent"]
    # linger enabled by hand where the config says no: read as live state, undone by the update
    live = system_account.SystemAccountLive(accounts={"node1": {"exists": True, "linger": True},
                                                      "node2": {"exists": True}})
    assert system_account.drifted(old, live) == ("linger",)
    repaired = [argv for _, argv in commands(system_account.plan_update(old, old, live))]
    assert [argv[-1] for argv in repaired if "disable-linger" in argv[2]] == ["fence-agent", "fence-agent"]


def test_every_host_resource_module_has_the_shape_of_one():
    """hastack/resources/base.py's interface, on every host type of the registry."""
    for type_name in registry.HOST_TYPES:
        kind = registry.core(type_name)
        assert kind.__name__ == f"hastack.resources.{registry.module_name(type_name)}"
        for name in ("PROPS", "LIVE", "COMPARED", "REPLACED", "resource_id", "observe", "drifted",
                     "plan_create", "plan_update", "plan_delete"):
            assert hasattr(kind, name), f"{kind.__name__} has no {name}"
        assert set(kind.REPLACED) <= set(kind.COMPARED) <= set(kind.PROPS.model_fields)


@pytest.mark.parametrize("installed, active, calls", [
    (True, True, ["list-unit-files pg.service", "disable --no-reload pg.service", "is-active --quiet pg.service",
                  "stop pg.service"]),
    (True, False, ["list-unit-files pg.service", "disable --no-reload pg.service", "is-active --quiet pg.service"]),
    (False, False, ["list-unit-files pg.service"])])
def test_a_unit_is_disabled_without_a_daemon_reload_and_stopped_only_if_it_runs(tmp_path, installed, active, calls):
    """(A stand-in systemctl that logs its arguments: the real one needs a booted systemd.)"""
    log = tmp_path / "calls"
    env = stand_in(tmp_path, "systemctl", f'echo "$*" >> {log}\ncase "$1" in list-unit-files) exit {0 if installed else 1};; '
                                          f'is-active) exit {0 if active else 3};; esac\nexit 0\n')
    props = systemd_unit.SystemdUnitProps(layer="guest", nodes=NODES, unit="pg.service", enabled=False)
    run = subprocess.run(systemd_unit.unit_argv(props), env=env)
    assert (run.returncode, log.read_text().splitlines()) == (0, calls)
