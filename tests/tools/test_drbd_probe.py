"""DrbdResource's look before a create, run by the real shell and tools on a loop device: a
disk with someone's data and a port something else holds are refused before any change."""
from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from hastack.config.models import DrbdOptions
from hastack.reports import HastackError
from hastack.resources import drbd_resource as drbd

pytestmark = [pytest.mark.tools,
              pytest.mark.skipif(shutil.which("losetup") is None or shutil.which("wipefs") is None,
                                 reason="needs losetup and wipefs")]


@pytest.fixture()
def loop_disk(tmp_path):
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"")
    subprocess.run(["truncate", "-s", "16M", str(backing)], check=True)
    device = subprocess.run(["losetup", "--find", "--show", str(backing)], check=True, capture_output=True,
                            text=True).stdout.strip()
    yield device
    subprocess.run(["losetup", "-d", device], check=False)


def props(disk: str, port: int) -> drbd.DrbdResourceProps:
    return drbd.DrbdResourceProps.model_validate({
        "layer": "hypervisor", "nodes": [{"name": n, "ssh": {"host": "127.0.0.1", "known_hosts_file": "x"}}
                                         for n in ("node1", "node2")],
        "name": "probe", "minor": 250, "disk": disk,
        "hosts": [["node1", ["10.0.0.1"]], ["node2", ["10.0.0.2"]]], "ports": [port],
        "options": DrbdOptions(dialect="8.4"), "preferred_node": "node1"})


def probe(p: drbd.DrbdResourceProps) -> tuple[str, str, tuple[str, ...]]:
    return drbd.parse_side(subprocess.run(drbd.side_argv(p), check=True, capture_output=True, text=True).stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_blank_disk_is_new_and_nothing_holds_its_minor_or_port(loop_disk):
    p = props(loop_disk, free_port())
    uname, state, taken = probe(p)
    assert uname and (state, taken) == ("new", ())
    drbd.refuse_unsafe_side(p, "node1", state, taken)  # nothing to refuse


def test_a_disk_with_a_filesystem_is_refused_and_left_as_it_was(loop_disk):
    subprocess.run(["mkfs.ext4", "-q", "-F", loop_disk], check=True)
    p = props(loop_disk, free_port())
    _uname, state, taken = probe(p)
    assert state == "used:ext4"
    with pytest.raises(HastackError) as refused:
        drbd.refuse_unsafe_side(p, "node1", state, taken)
    assert refused.value.code == "DRBD_DISK_IN_USE"
    assert loop_disk in refused.value.message and "ext4" in refused.value.message and "wipefs -a" in refused.value.message
    assert subprocess.run(["wipefs", "--no-act", "--noheadings", "--output", "TYPE", loop_disk],
                          capture_output=True, text=True).stdout.split() == ["ext4"]


def test_a_port_something_else_listens_on_is_refused(loop_disk):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        p = props(loop_disk, port)
        _uname, state, taken = probe(p)
    assert (state, taken) == ("new", (f"port-taken {port}",))
    with pytest.raises(HastackError) as refused:
        drbd.refuse_unsafe_side(p, "node1", state, taken)
    assert refused.value.code == "DRBD_PORT_TAKEN" and str(port) in refused.value.message


def test_a_minor_another_resource_holds_is_named_with_its_file():
    p = props("/dev/vg/probe", 7789)
    with pytest.raises(HastackError) as refused:
        drbd.refuse_unsafe_side(p, "node2", "new", ("minor-taken /etc/drbd.d/other.res",))
    assert refused.value.code == "DRBD_MINOR_TAKEN"
    assert "node2" in refused.value.message and "minor 250" in refused.value.message and "other.res" in refused.value.message


def test_a_port_whose_last_connection_lingers_in_time_wait_is_free(loop_disk):
    # The resource's own previous connection, closed by this side: TIME-WAIT on its port for 60 s.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _peer = listener.accept()
    accepted.close()  # the side on `port` closes first, so it is the one left in TIME-WAIT
    client.close()
    listener.close()
    lingering = subprocess.run(["ss", "-Htan", "state", "time-wait", f"( sport = :{port} )"],
                               capture_output=True, text=True).stdout
    assert lingering.strip(), "the test needs a TIME-WAIT socket on the port"
    assert probe(props(loop_disk, port))[1:] == ("new", ())
