"""NagiosObjects: its plans as data, and its one apply script run by the real bash in a temporary
objects directory, with a stand-in `nagios -v` that refuses a file containing BROKEN."""
from __future__ import annotations

import pytest

from hastack.apply import apply_live
from hastack.plan import Put, Run, sequential
from hastack.reports import HastackError
from hastack.resources import nagios_objects as objects
from hastack.transport.local import LocalTransport
from hastack.transport.scripted import ScriptedTransport

SERVER = [{"name": "nagios-server", "ssh": {"host": "10.0.5.51", "known_hosts_file": "x"}}]


@pytest.fixture()
def server(tmp_path):
    """(objects dir, props maker, log of verify/reload calls) on this machine."""
    log = tmp_path / "calls.log"
    verify = tmp_path / "nagios-v"
    # Nagios reads every *.cfg of the directory: refuse when any holds BROKEN, as nagios -v exits 1.
    verify.write_text(f'#!/bin/sh\necho verify >> {log}\nif grep -l BROKEN {tmp_path}/objects/*.cfg 2>/dev/null; then\n'
                      '  echo "Error: Could not find any host matching \'ghost\'"; echo "Total Errors:   1"; exit 1\nfi\n'
                      'echo "Total Errors:   0"\n')
    verify.chmod(0o755)
    directory = tmp_path / "objects"
    directory.mkdir()  # the SSH transport's put makes it; the local one does not

    def props(**files) -> objects.NagiosObjectsProps:
        return objects.NagiosObjectsProps(layer="monitoring", nodes=SERVER, objects_dir=str(directory),
                                          files={f"{k}.cfg": v for k, v in files.items()},
                                          verify_argv=(str(verify),), reload_argv=("sh", "-c", f"echo reload >> {log}"))
    return directory, props, log


def local(_target):
    return LocalTransport("nagios-server")


def test_create_stages_each_file_then_moves_verifies_and_reloads_once():
    p = objects.NagiosObjectsProps(layer="monitoring", nodes=SERVER, objects_dir="/etc/nagios4/conf.d/hastack",
                                   files={"pg1.cfg": "a", "pg2.cfg": "b"}, verify_argv=("nagios4", "-v", "x"),
                                   reload_argv=("systemctl", "reload", "nagios4.service"))
    steps = [s for _t, s in sequential(objects.plan_create(p))]
    assert [s.path for s in steps if isinstance(s, Put)] == ["/etc/nagios4/conf.d/hastack/.pg1.cfg.hastack-new",
                                                             "/etc/nagios4/conf.d/hastack/.pg2.cfg.hastack-new"]
    (run,) = [s for s in steps if isinstance(s, Run)]
    assert run.argv[4:] == ("/etc/nagios4/conf.d/hastack", "3", "nagios4", "-v", "x", "3", "systemctl", "reload",
                            "nagios4.service", "+pg1.cfg", "+pg2.cfg")
    update = objects.plan_update(p, p.model_copy(update={"files": {"pg1.cfg": "a2"}}), None)
    assert sequential(update)[-1][1].argv[-2:] == ("+pg1.cfg", "-pg2.cfg")


@pytest.mark.parametrize("name", ["../x.cfg", "pg1", ".hidden.cfg", "a b.cfg"])
def test_a_file_name_nagios_would_not_read_or_that_leaves_the_directory_is_refused(name):
    with pytest.raises(ValueError, match="not plain"):
        objects.NagiosObjectsProps(layer="monitoring", nodes=SERVER, objects_dir="/d", files={name: ""},
                                   verify_argv=("v",), reload_argv=("r",))


def test_accepted_files_go_live_and_nagios_reloads(server):
    directory, props, log = server
    apply_live(objects.plan_create(props(pg1="define host { host_name pg1 }\n")), local)
    assert (directory / "pg1.cfg").read_text() == "define host { host_name pg1 }\n"
    assert log.read_text().split() == ["verify", "reload"]
    assert sorted(p.name for p in directory.iterdir()) == [".hastack.lock", "pg1.cfg"]  # nothing staged left


def test_a_refused_file_is_put_back_as_it_was_and_the_error_names_nagios_error(server):
    directory, props, log = server
    good = props(pg1="old pg1\n", pg2="old pg2\n")
    apply_live(objects.plan_create(good), local)
    bad = props(pg1="BROKEN pg1\n", pg3="new but refused\n")
    with pytest.raises(HastackError) as caught:
        apply_live(objects.plan_update(good, bad, None), local)
    message = str(caught.value)
    assert "Nagios refused the configuration" in message and "Could not find any host matching 'ghost'" in message
    assert "put back" in message
    # pg1 has its old content, pg2 (taken out by the update) is back, pg3 never stays
    assert (directory / "pg1.cfg").read_text() == "old pg1\n" and (directory / "pg2.cfg").read_text() == "old pg2\n"
    assert not (directory / "pg3.cfg").exists()
    assert log.read_text().split() == ["verify", "reload", "verify"]  # no reload after the refusal


def test_delete_takes_the_files_out_and_an_already_gone_file_or_directory_is_nothing_to_do(server):
    directory, props, log = server
    p = props(pg1="x\n")
    apply_live(objects.plan_create(p), local)
    apply_live(objects.plan_delete(p), local)
    assert not (directory / "pg1.cfg").exists()
    apply_live(objects.plan_delete(p), local)  # gone: no verify, no reload
    assert log.read_text().split() == ["verify", "reload", "verify", "reload"]
    missing = p.model_copy(update={"objects_dir": str(directory / "never-made")})
    apply_live(objects.plan_delete(missing), local)
    assert not (directory / "never-made").exists()
    assert log.read_text().split() == ["verify", "reload", "verify", "reload"]


def test_the_live_state_tells_present_changed_and_gone_apart(server):
    directory, props, _log = server
    p = props(pg1="x\n", pg2="y\n")
    assert objects.observe(p, local) is None  # nothing there: the next up writes it
    apply_live(objects.plan_create(p), local)
    live = objects.observe(p, local)
    assert objects.drifted(p, live) == ()
    (directory / "pg2.cfg").write_text("edited by hand\n")
    assert objects.drifted(p, objects.observe(p, local)) == ("files",)
    (directory / "pg2.cfg").unlink()
    live = objects.observe(p, local)
    assert live.files["nagios-server"]["pg2.cfg"].present is False and objects.drifted(p, live) == ("files",)


def test_the_probe_is_one_command_per_server():
    p = objects.NagiosObjectsProps(layer="monitoring", nodes=SERVER, objects_dir="/d", files={"pg1.cfg": "x"},
                                   verify_argv=("v",), reload_argv=("r",))
    host = ScriptedTransport("nagios-server")
    assert objects.observe(p, lambda _t: host) is None
    assert host.calls == [" ".join(["sh", "-c", f"'{objects.PROBE}'", "sh", "/d", "pg1.cfg"])]
