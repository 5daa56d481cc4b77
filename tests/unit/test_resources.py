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
from hastack.resources import ocf_helper_links as links
from hastack.resources import selinux_booleans as sb
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


# ---- SELinux booleans (the seed's setsebool -P), skipped where SELinux is absent ------------------
def selinux_host(bin_dir, enabled=True, **booleans) -> tuple[dict, object, object]:
    """Stand-ins for selinuxenabled, getsebool and setsebool over a directory of boolean values:
    (environment, that directory, setsebool's call log)."""
    bin_dir.mkdir(exist_ok=True)
    state, log = bin_dir / "values", bin_dir / "setsebool.log"
    state.mkdir(exist_ok=True)
    for name, value in booleans.items():
        (state / name).write_text(value + "\n")
    stand_in(bin_dir, "getsebool", f'[ -f "{state}/$1" ] || {{ echo "Error getting active value for $1" >&2; exit 1; }}\n'
                                   f'echo "$1 --> $(cat "{state}/$1")"\n')
    stand_in(bin_dir, "setsebool", f'echo "$*" >> "{log}"; [ "$1" = -P ] && shift\n'
                                   f'for p; do echo "${{p#*=}}" > "{state}/${{p%%=*}}"; done\n')
    return stand_in(bin_dir, "selinuxenabled", f"exit {0 if enabled else 1}\n"), state, log


def in_ledger(argv, ledger) -> list[str]:
    """A plan's argv with its ledger directory moved under the test's tmp_path."""
    return [str(ledger) if a == sb.LEDGER_DIR else a for a in argv]


def booleans_props(**booleans) -> sb.SelinuxBooleansProps:
    return sb.SelinuxBooleansProps(layer="guest", nodes=NODES, booleans=booleans or {"daemons_enable_cluster_mode": True})


def test_booleans_are_set_once_persistently_and_the_value_found_is_recorded_before(tmp_path):
    env, state, log = selinux_host(tmp_path / "bin", daemons_enable_cluster_mode="off", nagios_run_sudo="on")
    ledger = tmp_path / "ledger"
    props = booleans_props(daemons_enable_cluster_mode=True, nagios_run_sudo=True)
    [(_, step)] = sequential(on_first_node(sb.plan_create(props)))
    assert step.notes  # what it says reaches the operator
    run = subprocess.run(in_ledger(step.argv, ledger), env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert log.read_text().splitlines() == ["-P daemons_enable_cluster_mode=on"]  # one policy rebuild, only what is off
    assert run.stdout == f"set daemons_enable_cluster_mode=on on {os.uname().nodename}\n"
    assert {p.name: p.read_text() for p in ledger.iterdir()} == {"daemons_enable_cluster_mode": "off\n",
                                                                 "nagios_run_sudo": "on\n"}
    again = subprocess.run(in_ledger(step.argv, ledger), env=env, capture_output=True, text=True)
    assert (again.returncode, again.stdout, len(log.read_text().splitlines())) == (0, "", 1)  # nothing to change
    assert (ledger / "daemons_enable_cluster_mode").read_text() == "off\n"  # the value before hastack, kept
    # delete: back to what was found, and forgotten
    [(_, undo)] = sequential(on_first_node(sb.plan_delete(props)))
    subprocess.run(in_ledger(undo.argv, ledger), env=env, check=True, capture_output=True)
    assert log.read_text().splitlines()[-1] == "-P daemons_enable_cluster_mode=off"
    assert (state / "daemons_enable_cluster_mode").read_text() == "off\n" and list(ledger.iterdir()) == []


@pytest.mark.parametrize("enabled", [False, None])  # SELinux disabled; no libselinux tools at all
def test_booleans_on_a_host_without_selinux_are_skipped_and_say_so(tmp_path, enabled):
    if enabled is None:
        env = {**os.environ, "PATH": "/usr/bin:/bin"}
        if subprocess.run(["sh", "-c", "command -v selinuxenabled"], env=env, capture_output=True).returncode == 0:
            pytest.skip("selinuxenabled is on /usr/bin here")
        log = tmp_path / "none"
    else:
        env, _state, log = selinux_host(tmp_path / "bin", enabled=False, daemons_enable_cluster_mode="off")
    ledger = tmp_path / "ledger"
    props = booleans_props()
    said = f"skipped: no SELinux on {os.uname().nodename}\n"
    for plan in (sb.plan_create(props), sb.plan_delete(props)):
        [(_, step)] = sequential(on_first_node(plan))
        run = subprocess.run(in_ledger(step.argv, ledger), env=env, capture_output=True, text=True)
        assert (run.returncode, run.stdout, run.stderr) == (0, said, "")
    assert not log.exists() and not ledger.exists()
    probe = subprocess.run(sb.probe_argv(["daemons_enable_cluster_mode"]), env=env, capture_output=True, text=True)
    live = sb.parse_probe("pg1", probe.stdout)
    assert live == sb.NodeBooleans(skipped="skipped: no SELinux on pg1")
    assert sb.drifted(props, sb.SelinuxBooleansLive(nodes={"pg1": live})) == ()  # never drift, never an error


def test_a_boolean_the_policy_does_not_define_fails_naming_it(tmp_path):
    env, _state, log = selinux_host(tmp_path / "bin")
    run = subprocess.run(in_ledger(sb.set_argv({"nagios_run_sudo": True}), tmp_path / "ledger"), env=env,
                         capture_output=True, text=True)
    assert run.returncode == 3 and "SELinux boolean nagios_run_sudo is not defined by the policy" in run.stderr
    assert not log.exists()


@pytest.mark.parametrize("stdout, node", [
    ("no-selinux\n", sb.NodeBooleans(skipped="skipped: no SELinux on node1")),
    ("value daemons_enable_cluster_mode on\nvalue nagios_run_sudo off\nbefore nagios_run_sudo off\n",
     sb.NodeBooleans(values={"daemons_enable_cluster_mode": True, "nagios_run_sudo": False},
                     before={"nagios_run_sudo": False})),
    ("value nagios_run_sudo undefined\n", sb.NodeBooleans(values={"nagios_run_sudo": None})),
])
def test_the_boolean_probe_reads_values_records_and_skips(stdout, node):
    assert sb.parse_probe("node1", stdout) == node


def test_the_boolean_probe_runs_getsebool_and_reads_the_ledger(tmp_path):
    env, _state, _log = selinux_host(tmp_path / "bin", daemons_enable_cluster_mode="on", nagios_run_sudo="off")
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "daemons_enable_cluster_mode").write_text("off\n")
    probe = subprocess.run(in_ledger(sb.probe_argv(["daemons_enable_cluster_mode", "nagios_run_sudo", "x_y"]), ledger),
                           env=env, capture_output=True, text=True)
    assert sb.parse_probe("pg1", probe.stdout) == sb.NodeBooleans(
        values={"daemons_enable_cluster_mode": True, "nagios_run_sudo": False, "x_y": None},
        before={"daemons_enable_cluster_mode": False})


def test_a_boolean_switched_off_is_drift_and_a_dropped_one_goes_back():
    props = booleans_props(daemons_enable_cluster_mode=True, nagios_run_sudo=True)
    on = sb.NodeBooleans(values={"daemons_enable_cluster_mode": True, "nagios_run_sudo": True})
    live = sb.SelinuxBooleansLive(nodes={"node1": on, "node2": on.model_copy(update={"values": {
        "daemons_enable_cluster_mode": True, "nagios_run_sudo": False}})})
    assert sb.drifted(props, live) == ("booleans",)
    assert sb.drifted(props, live.model_copy(update={"nodes": {"node1": on, "node2": on}})) == ()
    nodes = hosts(**{n: {"sh -c": Result(0, "no-selinux\n", "")} for n in ("node1", "node2")})
    assert sb.observe(props, nodes.__getitem__).nodes["node2"].skipped == "skipped: no SELinux on node2"
    # monitoring switched off: nagios_run_sudo is put back, the other is set again
    update = [s.argv for _, s in sequential(sb.plan_update(props, booleans_props(), None)) if _ == "node1"]
    assert update == [sb.restore_argv(["nagios_run_sudo"]), sb.set_argv({"daemons_enable_cluster_mode": True})]
    assert [s.argv[5:] for _, s in sequential(sb.plan_delete(props))][0] == ("daemons_enable_cluster_mode", "nagios_run_sudo")
    with pytest.raises(ValueError, match="not SELinux boolean names"):
        booleans_props(**{"rm -rf": True})


def test_a_skip_is_said_at_up_and_recorded_in_the_resources_notes():
    """The provider shows what a step said (pulumi.log) and records it; the notes are no prop."""
    from providers.selinux_booleans import SelinuxBooleansProvider

    nodes = hosts(**{n: {"sh -c": Result(0, f"skipped: no SELinux on {n}.lab\n", "")} for n in ("node1", "node2")})
    provider = SelinuxBooleansProvider(connect=lambda props: nodes.__getitem__)
    news = booleans_props().model_dump(mode="json")
    created = provider.create(news)
    assert created.outs["notes"] == {"node1": ["skipped: no SELinux on node1.lab"],
                                     "node2": ["skipped: no SELinux on node2.lab"]}
    assert not provider.diff(created.id, created.outs, news).changes
    provider.delete(created.id, created.outs)  # notes of the state are no input of the plan


def on_first_node(plan):
    return tuple((t, s) for t, s in sequential(plan) if t == "node1")


# ---- the OCF helpers where RHEL's pgsql agent sources them -----------------------------------------
def helper_dirs(tmp_path, helpers=("ocf-shellfuncs", "ocf-binaries", "ocf-returncodes")):
    src, dst = tmp_path / "usr-lib-ocf-lib-heartbeat", tmp_path / "lib-heartbeat"
    src.mkdir()
    for name in helpers:
        (src / name).write_text(f"# {name}\n")
    props = links.OcfHelperLinksProps(layer="guest", nodes=NODES, source_dir=str(src), link_dir=str(dst))
    return props, src, dst, tmp_path / "ledger" / "links"


def run_links(argv, ledger) -> subprocess.CompletedProcess:
    argv = [str(ledger) if a == links.LEDGER else a for a in argv]
    return subprocess.run(argv, capture_output=True, text=True, check=True)


def test_only_missing_helpers_are_linked_and_only_hastacks_links_are_removed(tmp_path):
    props, src, dst, ledger = helper_dirs(tmp_path)
    dst.mkdir()
    (dst / "ocf-binaries").write_text("the host's own\n")
    (dst / "ocf-returncodes").symlink_to(tmp_path / "nowhere")  # dangling, but there: never replaced
    [(_, step)] = on_first_node(links.plan_create(props))
    host = os.uname().nodename
    assert step.notes and run_links(step.argv, ledger).stdout == f"linked 1 helper(s) of {src} into {dst} on {host}\n"
    assert os.readlink(dst / "ocf-shellfuncs") == str(src / "ocf-shellfuncs")
    assert (dst / "ocf-binaries").read_text() == "the host's own\n" and os.readlink(dst / "ocf-returncodes") == str(
        tmp_path / "nowhere")
    assert run_links(step.argv, ledger).stdout == f"nothing to link: {dst} has every helper of {src} on {host}\n"
    assert ledger.read_text() == f"l {dst}/ocf-shellfuncs\n"
    probe = run_links(links.probe_argv(props), ledger).stdout
    assert links.parse_probe(props, "pg1", probe) == links.NodeHelpers(made=(f"{dst}/ocf-shellfuncs",))
    [(_, undo)] = on_first_node(links.plan_delete(props))
    run_links(undo.argv, ledger)
    assert sorted(p.name for p in dst.iterdir()) == ["ocf-binaries", "ocf-returncodes"] and not ledger.exists()


def test_a_link_dir_hastack_made_goes_with_its_links_and_a_file_put_in_a_links_place_stays(tmp_path):
    props, src, dst, ledger = helper_dirs(tmp_path)
    [(_, step)] = on_first_node(links.plan_create(props))
    [(_, undo)] = on_first_node(links.plan_delete(props))
    run_links(step.argv, ledger)
    assert sorted(p.name for p in dst.iterdir()) == ["ocf-binaries", "ocf-returncodes", "ocf-shellfuncs"]
    assert ledger.read_text().splitlines()[0] == f"d {dst}"
    run_links(undo.argv, ledger)
    assert not dst.exists() and not ledger.exists()  # made by hastack, empty again: removed
    run_links(step.argv, ledger)
    (dst / "ocf-binaries").unlink()
    (dst / "ocf-binaries").write_text("put there by hand\n")
    probe = links.parse_probe(props, "pg1", run_links(links.probe_argv(props), ledger).stdout)
    assert probe.missing == () and len(probe.made) == 3
    run_links(undo.argv, ledger)
    assert [p.name for p in dst.iterdir()] == ["ocf-binaries"]  # not hastack's link: kept, and so is the dir


def test_a_helper_missing_is_drift_and_a_host_without_the_helpers_is_skipped(tmp_path):
    props, src, dst, ledger = helper_dirs(tmp_path)
    dst.mkdir()
    probe = links.parse_probe(props, "pg1", run_links(links.probe_argv(props), ledger).stdout)
    assert probe.missing == ("ocf-binaries", "ocf-returncodes", "ocf-shellfuncs") and probe.made == ()
    live = links.OcfHelperLinksLive(nodes={"pg1": probe, "pg2": links.NodeHelpers()})
    assert links.drifted(props, live) == ("link_dir",)
    assert links.drifted(props, links.OcfHelperLinksLive(nodes={"pg1": links.NodeHelpers()})) == ()
    assert commands(links.plan_update(props, props, live)) == commands(links.plan_create(props))
    for path in src.iterdir():
        path.unlink()
    src.rmdir()
    [(_, step)] = on_first_node(links.plan_create(props))
    assert run_links(step.argv, ledger).stdout == f"skipped: no {src} on {os.uname().nodename}\n"
    assert links.parse_probe(props, "pg1", run_links(links.probe_argv(props), ledger).stdout) == links.NodeHelpers(
        skipped=f"skipped: no {src} on pg1")
    assert list(dst.iterdir()) == [] and not ledger.exists()


def test_helper_links_are_derived_on_for_rhel_and_off_for_debian_and_overridable():
    from hastack.config.load import load_stack
    from hastack.layout import ocf_helper_links_on

    guest = load_stack("lab5").guest
    assert guest.ocf_helper_links is None and ocf_helper_links_on(guest)  # RHEL 9's /usr/bin/pg_ctl
    debian = guest.model_copy(update={"pgctl": "/usr/lib/postgresql/15/bin/pg_ctl"})
    assert not ocf_helper_links_on(debian)
    assert ocf_helper_links_on(debian.model_copy(update={"ocf_helper_links": True}))
    assert not ocf_helper_links_on(guest.model_copy(update={"ocf_helper_links": False}))


# ---- the guests' pgdata: labelled on its first primary where SELinux is on ------------------------
@pytest.mark.parametrize("selinux", [True, False])
def test_a_new_pgdata_gets_the_seeds_labels_only_where_selinux_is_on_and_says_which(tmp_path, selinux):
    from hastack.config.load import load_stack
    from hastack.layout import pgdata_init_script

    bin_dir, mnt = tmp_path / "bin", tmp_path / "mnt"
    bin_dir.mkdir()
    data, chcon = mnt / "data", tmp_path / "chcon.log"
    for name in ("mount", "umount", "runuser"):
        stand_in(bin_dir, name, "exit 0\n")
    stand_in(bin_dir, "mkfs", 'echo "meta-data=$3 isize=512"\n')  # mkfs.xfs's geometry: not for the operator
    stand_in(bin_dir, "install", 'for last; do :; done; mkdir -p "$last"\n')  # no postgres user here
    stand_in(bin_dir, "chcon", f'echo "$*" >> "{chcon}"\n')
    env = stand_in(bin_dir, "selinuxenabled", f"exit {0 if selinux else 1}\n")
    script = pgdata_init_script(load_stack("lab5").guest)
    run = subprocess.run(["sh", "-c", script, "sh", "/dev/drbd0", str(mnt), str(data), "xfs", "initdb", "10.0.5.0/24"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    host = os.uname().nodename
    if selinux:
        assert chcon.read_text().splitlines() == [f"-t mnt_t {mnt}", f"-R -t postgresql_db_t {data}"]
        assert run.stdout == f"SELinux labels: {mnt} mnt_t, {data} postgresql_db_t, on {host}\n"
    else:
        assert not chcon.exists()
        assert run.stdout == f"SELinux labels of {mnt}: skipped: no SELinux on {host}\n"
    assert "listen_addresses = '*'" in (data / "postgresql.conf").read_text()


def test_what_an_initial_fill_prints_is_said_to_the_operator():
    fills = [s for _, s in sequential(drbd.plan_create(drbd_props(), {"node1": "new", "node2": "new"}))
             if isinstance(s, Run) and s.argv[0] == "qemu-img"]
    assert len(fills) == 1 and fills[0].notes


def test_a_failed_setsebool_fails_the_step_and_keeps_the_value_recorded_before(tmp_path):
    env, state, _log = selinux_host(tmp_path / "bin", daemons_enable_cluster_mode="off")
    stand_in(tmp_path / "bin", "setsebool", 'echo "could not commit the policy" >&2; exit 1\n')
    ledger = tmp_path / "ledger"
    for argv in (sb.set_argv({"daemons_enable_cluster_mode": True}), sb.restore_argv(["daemons_enable_cluster_mode"])):
        (state / "daemons_enable_cluster_mode").write_text("on\n" if "put back" in argv[2] else "off\n")
        run = subprocess.run(in_ledger(argv, ledger), env=env, capture_output=True, text=True)
        assert (run.returncode, run.stdout) == (1, "") and "could not commit" in run.stderr
        assert (ledger / "daemons_enable_cluster_mode").read_text() == "off\n"
