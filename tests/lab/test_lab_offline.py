"""The lab's pure parts, without starting anything: command lines, relay protocol, files."""
from __future__ import annotations

import json
from pathlib import Path

from hastack.lab import bmc, image, inventory, netns, qemu, relay, seed
from hastack.lab.domains import tiny_domain_xml
from hastack.lab.topology import HOSTS, NETWORKS, host, tap_name


def test_recipe_hash_follows_the_recipe_files(tmp_path: Path):
    (tmp_path / "build.sh").write_text("echo a\n")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "x").write_text("1")
    h1 = image.recipe_hash(tmp_path)
    assert image.recipe_hash(tmp_path) == h1
    (tmp_path / "files" / "x").write_text("2")
    assert image.recipe_hash(tmp_path) != h1
    assert image.cached_image(tmp_path).disk.name == f"lab-image-{image.recipe_hash(tmp_path)}.qcow2"


def test_debian_mirror_is_read_from_apt_sources(tmp_path: Path):
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\n# comment: x\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
                      "Components: main\n\nTypes: deb\nURIs: http://other.invalid/sec\nSuites: bookworm-security\n")
    assert image.debian_mirror((deb822,)) == "http://mirror.invalid/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text("deb http://m.invalid/debian bookworm main\n")
    assert image.debian_mirror((tmp_path / "absent.sources", one_line)) == "http://m.invalid/debian"


def test_qemu_command_line_forwards_ssh_on_loopback_only(tmp_path: Path):
    h = host("node1")
    argv = qemu.qemu_argv(h, qemu.HostFiles(tmp_path), Path("/k"), Path("/i"), "0" * 32,
                          {"mgmt": 10, "stor1": 11, "stor2": 12}, tmp_path / "relay.sock")
    user = [a for a in argv if a.startswith("user,")]
    assert user == [f"user,id=fwd,restrict=on,hostfwd=tcp:127.0.0.1:{h.ssh_port}-:22"]
    assert "tap,id=mgmt,fd=10" in argv and "-no-shutdown" in argv
    assert any("virtserialport" in a for a in argv)
    guest = qemu.qemu_argv(host("pg1"), qemu.HostFiles(tmp_path), Path("/k"), Path("/i"), "0" * 32,
                           {"mgmt": 10, "stor1": 11, "stor2": 12}, None)
    assert not any("virtserialport" in a for a in guest)
    assert all(isinstance(a, str) for a in argv)


def test_lab_memory_budget_holds_with_translation_caches(tmp_path: Path):
    """Issue 5's limit: the whole lab within 12 GiB, counting each host's RAM and TCG cache."""
    total = 0
    for h in HOSTS:
        argv = qemu.qemu_argv(h, qemu.HostFiles(tmp_path), Path("/k"), Path("/i"), "0" * 32,
                              {"mgmt": 10, "stor1": 11, "stor2": 12}, None)
        tb = int(argv[argv.index("-accel") + 1].split("tb-size=")[1])
        assert tb == qemu.TB_MIB
        total += int(argv[argv.index("-m") + 1]) + tb
    assert total <= 12 * 1024, total


def test_macs_ports_and_taps_are_unique():
    macs = [h.mac(n) for h in HOSTS for n in ("fwd", *NETWORKS)]
    assert len(set(macs)) == len(macs)
    assert [h.ssh_port for h in HOSTS] == [22201, 22202, 22203, 22204]
    taps = [tap_name(h, n) for h in HOSTS for n in NETWORKS]
    assert len(set(taps)) == len(taps) and all(len(t) <= 15 for t in taps)


def test_namespace_commands_stay_inside_the_namespace():
    assert netns.in_ns(42, ["ip", "link"]) == ["nsenter", "--net=/proc/42/ns/net", "--", "ip", "link"]
    cmds = netns.setup_commands()
    addrs = [c for c in cmds if c[:2] == ["ip", "addr"]]
    assert [c[3] for c in addrs] == ["10.77.0.11/24", "10.77.0.12/24", "10.77.0.5/24"]  # BMCs and Nagios only
    # What the namespace sends leaves from Nagios's address, not the first BMC's (NRPE is open to it only).
    assert cmds[-1] == ["ip", "route", "replace", "10.77.0.0/24", "dev", "br-mgmt", "proto", "kernel", "scope", "link",
                        "src", "10.77.0.5"]


def test_relay_accepts_only_fixed_verbs_for_lab_guests():
    assert relay.parse(b"start pg1") == ("start", "pg1")
    assert relay.parse(b"destroy pg2") == ("destroy", "pg2")
    for bad in (b"start gw1", b"reboot pg1", b"start pg1; rm -rf /", b"start", b"destroy node1", b"\xff\xfe"):
        assert relay.parse(bad) is None


def test_relay_ignores_a_stop_from_a_hypervisor_that_no_longer_hosts_the_guest(tmp_path, monkeypatch):
    relay.relay_dir(tmp_path).mkdir()
    relay.write_placement(tmp_path, {"pg1": "node2"})
    calls = []
    monkeypatch.setattr(qemu, "power_off", lambda files: calls.append(("off", files.dir.name)))
    monkeypatch.setattr(qemu, "power_on", lambda files: calls.append(("on", files.dir.name)))
    monkeypatch.setattr(qemu, "status", lambda files: "on")
    logs = []
    relay.act(tmp_path, "node1", "destroy", "pg1", logs.append)
    assert calls == [] and "ignored" in logs[-1]
    relay.act(tmp_path, "node2", "destroy", "pg1", logs.append)
    assert calls == [("off", "pg1")]
    relay.act(tmp_path, "node1", "start", "pg1", logs.append)
    assert relay.read_placement(tmp_path) == {"pg1": "node1"}


def test_bmc_config_and_ipmitool_keep_the_password_off_the_command_line(tmp_path: Path):
    h = host("node2")
    conf = bmc.lan_conf(h, tmp_path / "chassis")
    assert "addr 10.77.0.12 623" in conf and f'chassis_control "{tmp_path / "chassis"} 0x20"' in conf
    argv = bmc.ipmitool_argv(h, "chassis", "power", "status")
    assert "-E" in argv and bmc.BMC_PASSWORD not in argv
    wrapper = bmc.chassis_wrapper(Path("/x y/.lab"), h)
    assert "'/x y/.lab' node2" in wrapper


def test_seed_network_files_bridge_hypervisor_nics_only():
    node = seed.network_files(host("node1"))
    assert "Address=10.77.1.21/24" in node["22-br-stor1.network"]
    assert "Bridge=br-mgmt" in node["21-mgmt0.network"]
    guest = seed.network_files(host("pg2"))
    assert "Address=10.77.2.54/24" in guest["21-stor2.network"]
    assert not any(name.endswith(".netdev") for name in guest)
    assert all("Gateway" not in text for text in {**node, **guest}.values())


def test_the_network_check_watches_exactly_the_links_the_lab_configures():
    """Not libvirt's vnet taps (networkd leaves them unmanaged): counting those once made a warm
    `lab up` restart networkd under a running cluster."""
    import re

    for name in ("node1", "pg1"):
        files = seed.network_files(host(name))
        configured = {m for text in files.values() for m in re.findall(r"^Name=(\S+)$", text, re.M)}
        assert set(seed.lab_links(host(name))) == configured


def test_inventory_and_known_hosts(tmp_path: Path):
    keys = {h.name: f"ssh-ed25519 AAAA{h.name} hastack-lab {h.name}" for h in HOSTS}
    inventory.write(tmp_path, keys)
    kh = (tmp_path / "known_hosts").read_text().splitlines()
    assert kh[0] == "[127.0.0.1]:22201 ssh-ed25519 AAAAnode1"
    inv = json.loads((tmp_path / "inventory.json").read_text())
    node1 = inv["hosts"][0]
    assert node1["ssh"] == {"host": "127.0.0.1", "port": 22201, "user": "root",
                            "private_key": str(tmp_path / "id_ed25519"),
                            "known_hosts": str(tmp_path / "known_hosts")}
    assert node1["bmc"]["address"] == "10.77.0.11" and "hastack-lab-bmc" not in json.dumps(inv)


def test_tiny_domain_xml_has_acpi_and_optional_network():
    xml = tiny_domain_xml("gw1", "10.77.0.61/24")
    assert "<acpi/>" in xml and "hastack.ip=10.77.0.61/24" in xml and "br-mgmt" in xml
    standin = tiny_domain_xml("pg1")
    assert "<interface" not in standin and "<kernel>" not in standin


def test_lab_id_names_the_lab_a_stack_was_built_on(tmp_path: Path, monkeypatch, capsys):
    """bin/main drops a lab stack's state when the lab it was built on is gone: `lab id` is the key."""
    from hastack.lab import cli

    monkeypatch.setenv("HASTACK_LAB_DIR", str(tmp_path / "lab"))
    assert cli.main(["id"]) == 1  # no lab running: no id, and a failure bin/main stops on
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "state.json").write_text('{"lab_id": "0123abcd"}')
    assert cli.main(["id"]) == 0
    assert capsys.readouterr().out.strip() == "0123abcd"


def _chassis_lab(tmp_path, monkeypatch, post: str):
    """A lab directory with node1's files and its power state held in a dict (no qemu here)."""
    from hastack.lab import chassis

    (tmp_path / "bmc").mkdir()
    bmc.post_file(tmp_path).write_text(post)
    relay.relay_dir(tmp_path).mkdir()
    relay.write_placement(tmp_path, {})
    (tmp_path / "hosts" / "node1").mkdir(parents=True)
    power = {"node1": "on"}
    monkeypatch.setattr(qemu, "status", lambda files: power[files.dir.name])
    monkeypatch.setattr(qemu, "power_off", lambda files: power.update({files.dir.name: "off"}))
    monkeypatch.setattr(qemu, "power_on", lambda files: power.update({files.dir.name: "on"}))
    spawned = []
    monkeypatch.setattr(chassis.subprocess, "Popen", lambda argv, **kw: spawned.append(argv))
    return chassis, power, spawned


def test_a_bmc_power_on_reads_on_at_once_and_boots_after_the_self_test(tmp_path, monkeypatch, capsys):
    chassis, power, spawned = _chassis_lab(tmp_path, monkeypatch, "0.3\n")
    lab = str(tmp_path)
    chassis.main([lab, "node1", "0x20", "set", "power", "0"])
    chassis.main([lab, "node1", "0x20", "set", "power", "1"])
    assert power["node1"] == "off" and spawned[0][-4:] == [lab, "node1", "-", "post"]
    chassis.main([lab, "node1", "0x20", "get", "power"])
    assert capsys.readouterr().out == "power:1\n"  # a BMC answers "on" while its server is in POST
    chassis.main([lab, "node1", "0x20", "set", "reset", "1"])  # in its self-test: boots anyway
    chassis.main(spawned[0][-4:])  # the detached process: waits out the self-test, then boots
    assert power["node1"] == "on" and not qemu.HostFiles(tmp_path / "hosts" / "node1").posting.exists()


def test_a_power_off_during_the_self_test_keeps_the_host_off(tmp_path, monkeypatch, capsys):
    chassis, power, spawned = _chassis_lab(tmp_path, monkeypatch, "0.2\n")
    lab = str(tmp_path)
    chassis.main([lab, "node1", "0x20", "set", "power", "0"])
    chassis.main([lab, "node1", "0x20", "set", "power", "1"])
    chassis.main([lab, "node1", "0x20", "set", "power", "0"])
    chassis.main(spawned[0][-4:])
    chassis.main([lab, "node1", "0x20", "get", "power"])
    assert power["node1"] == "off" and capsys.readouterr().out == "power:0\n"


def test_without_a_self_test_time_a_power_on_boots_at_once(tmp_path, monkeypatch):
    chassis, power, spawned = _chassis_lab(tmp_path, monkeypatch, "0\n")
    chassis.main([str(tmp_path), "node1", "0x20", "set", "power", "0"])
    chassis.main([str(tmp_path), "node1", "0x20", "set", "power", "1"])
    assert power["node1"] == "on" and spawned == []


def test_the_lab_hosts_boot_with_a_default_deny_input_rendered_from_one_function():
    """The image's /etc/nftables.conf is render_nftables_conf() (the real nft checks it in
    tests/tools/test_firewall_tools.py); nftables is installed and its unit enabled at boot; its
    input chain is the Firewall's default base chain, and accepts nothing but replies, loopback,
    ICMP/ICMPv6 and SSH."""
    from hastack.config.models import FirewallOptions

    text = image.render_nftables_conf()
    assert image.NFTABLES_CONF.read_text() == text, (
        "lab/image/files/etc/nftables.conf differs from hastack.lab.image.render_nftables_conf(): regenerate it "
        "(the function's docstring says how)")
    assert image.NFTABLES_CONF in image.recipe_files()  # so a change of it builds a new image
    assert "nftables" in (image.RECIPE_DIR / "packages.txt").read_text().split()
    enable = next(line for line in (image.RECIPE_DIR / "build.sh").read_text().splitlines()
                  if line.startswith("in_root systemctl enable"))
    assert "nftables.service" in enable.split()
    family, table, chain = FirewallOptions().base_chain.split()
    assert f"table {family} {table} {{\n\tchain {chain} {{\n\t\ttype filter hook input priority filter; policy drop;\n" in text
    input_chain = text.split(f"chain {chain} {{\n")[1].split("\t}")[0]
    assert [line.strip() for line in input_chain.splitlines()[1:]] == [
        "ct state established,related accept", "ct state invalid drop", 'iif "lo" accept',
        "meta l4proto { icmp, ipv6-icmp } accept", 'tcp dport 22 accept comment "ssh"']


def test_a_symlink_to_a_labs_directory_names_the_lab_itself(tmp_path: Path, monkeypatch):
    """The lab's processes carry its directory in their command lines (lab.owned): reached through
    a symlink, a running lab must still be known, never taken for a partial one and taken down."""
    from hastack.lab.paths import lab_dir

    real = tmp_path / "wt-a" / ".lab"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("HASTACK_LAB_DIR", str(tmp_path / "link"))
    assert lab_dir() == real.resolve()


def test_a_lab_hosts_etc_hosts_names_only_itself_so_the_stack_adds_its_peers():
    node1 = host("node1")
    lines = seed.hosts_file(node1).splitlines()
    assert lines[-1] == f"{node1.address('mgmt')} {node1.fqdn} {node1.name}"
    assert not any(other.name in " ".join(lines) for other in HOSTS if other.name != "node1")


def test_the_lab_nagios_is_pinned_like_the_hosts_and_runs_debians_files_with_the_labs_changes(tmp_path):
    """Its known_hosts line sits on its own loopback port; its nagios.cfg is Debian's with passive
    results logged and nothing sent out; nsca-ng listens only on the lab address."""
    from hastack.lab import inventory, nagios

    lines = inventory.known_hosts_lines({"node1": "ssh-ed25519 AAAA1 x", "nagios": "ssh-ed25519 AAAA5 y"})
    assert lines == ["[127.0.0.1]:22201 ssh-ed25519 AAAA1", "[127.0.0.1]:22205 ssh-ed25519 AAAA5"]
    debian = "use_syslog=1\ncfg_file=/etc/nagios4/objects/localhost.cfg\nlog_passive_checks=0\nstatus_file=/x\n"
    cfg = nagios.render_nagios_cfg(debian).splitlines()
    assert {"use_syslog=0", "log_passive_checks=1", "enable_notifications=0", "check_for_updates=0",
            "cfg_file=/etc/nagios4/objects/hastack-lab.cfg", "status_file=/x"} <= set(cfg)
    assert not any("localhost.cfg" in line for line in cfg)
    assert 'listen = "10.77.0.5:5668"' in nagios.render_nsca_cfg()
    sshd = nagios.render_sshd_config(tmp_path)
    assert "ListenAddress 10.77.0.5:22" in sshd and "PasswordAuthentication no" in sshd
    mounts = nagios.mount_argvs(tmp_path, tmp_path / "unpacked")
    assert mounts[0] == ["mount", "--make-rprivate", "/"]
    assert [m[-1] for m in mounts[1:]] == ["/usr", "/etc", "/var", "/run"]  # nothing else of this machine
    assert all("upperdir=" + str(tmp_path) in m[-2] for m in mounts[2:])  # every write lands in the lab dir


def _network_settled(tmp_path: Path, listing: str, *links: str, restart_ok: bool = False):
    """NETWORK_SETTLED run by the real sh, with networkctl, systemctl and sleep scripted (this
    machine runs no networkd); `date` advances 10 s per call so the clock deadline is reached."""
    import subprocess
    from hastack.lab.lab import NETWORK_SETTLED

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "clock").write_text("0")
    scripts = {
        "networkctl": f"cat {tmp_path / 'listing'}",
        "systemctl": f"echo \"$@\" >> {tmp_path / 'restarts'}" + (f"; cp {tmp_path / 'fixed'} {tmp_path / 'listing'}" if restart_ok else ""),
        "timeout": 'shift; "$@"',
        "sleep": "true",
        "date": f"t=$(cat {tmp_path / 'clock'}); echo $((t + 10)) > {tmp_path / 'clock'}; echo $t",
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    (tmp_path / "listing").write_text(listing)
    (tmp_path / "fixed").write_text(listing.replace("configuring", "configured"))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    r = subprocess.run(["sh", "-c", NETWORK_SETTLED, "settled", "yes", *links], env=env,
                       capture_output=True, text=True, timeout=30)
    restarts = (tmp_path / "restarts").read_text().splitlines() if (tmp_path / "restarts").exists() else []
    return r, restarts


LISTING = """  1 lo      loopback carrier     unmanaged
  2 mgmt0   ether    enslaved    configured
  3 br-mgmt bridge   routable    configuring
  4 vnet0   ether    enslaved    unmanaged
"""


def test_network_settle_waits_by_the_clock_and_names_the_stuck_links(tmp_path: Path):
    r, restarts = _network_settled(tmp_path, LISTING, "mgmt0", "br-mgmt")
    assert r.returncode == 1
    assert r.stderr.strip().endswith("links not configured after 150 s: br-mgmt"), r.stderr
    assert restarts == ["restart systemd-networkd"] * 2  # at most two restarts, never a loop of them


def test_network_settle_passes_when_a_restart_configures_the_links(tmp_path: Path):
    r, restarts = _network_settled(tmp_path, LISTING, "mgmt0", "br-mgmt", restart_ok=True)
    assert r.returncode == 0 and restarts == ["restart systemd-networkd"], r.stderr


def test_network_settle_passes_at_once_on_configured_links_and_ignores_unmanaged_taps(tmp_path: Path):
    r, restarts = _network_settled(tmp_path, LISTING, "mgmt0")
    assert r.returncode == 0 and restarts == [] and r.stderr == ""
