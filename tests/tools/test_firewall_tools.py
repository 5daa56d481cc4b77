"""The Firewall resource's rendered rules, fed to the real tools: `nft -c -f` on every rendered file,
firewalld's own rich-rule parser and firewall-offline-cmd (on a temporary --system-config) on every
rich rule, and the real corosync binding the knet ports that are opened.  And a firewall that
really filters: the plan applied by the real nft in two private network namespaces (the lab's two
hypervisors, joined by one veth pair per ring, each with a Debian-style base table whose input
policy is drop), probed with real sockets from the peer's addresses and from another one.

Nothing here touches this machine's own firewall, /etc or /var/lib: every nft runs inside a
namespace of its own, /etc and /var/lib there are overlays on temporary directories, and the host's
namespace never gets an address, route or link of the test."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unpacked import unpacked  # noqa: E402

from hastack.apply import apply_live  # noqa: E402
from hastack.config.load import load_stack  # noqa: E402
from hastack.lab.image import render_nftables_conf  # noqa: E402
from hastack.lab.netns import netns_inode, own_netns_inode  # noqa: E402
from hastack.render.corosync import CorosyncNode, knet_port, render_corosync_conf  # noqa: E402
from hastack.reports import HastackError  # noqa: E402
from hastack.resources import firewall as fw  # noqa: E402
from hastack.transport import put_argv  # noqa: E402
from hastack.transport.local import run_local  # noqa: E402

pytestmark = [pytest.mark.tools, pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")]

# Debian's shipped /etc/nftables.conf with its input policy drop, and what a default-deny host keeps open.
DEBIAN_DROP = """#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter;
	}
}
"""
DEBIAN_ACCEPT = DEBIAN_DROP.replace("policy drop;\n\t\tct", "policy accept;\n\t\tct")
SYSTEM_PYTHON = "/usr/bin/python3"  # firewalld's tools need python3-gi and python3-dbus, not the venv


def nft_or_skip() -> str:
    nft = shutil.which("nft")
    if not nft:
        pytest.skip("nft not installed: bin/setup installs nftables (setup/apt-packages.txt)")
    return nft


def props(config, layer, pcsd=False, only=None) -> fw.FirewallProps:
    openings = {n: o for n, o in fw.layer_openings(config, layer, pcsd=pcsd).items() if only in (None, n)}
    nodes = [{"name": n, "ssh": {"host": "127.0.0.1", "known_hosts_file": "x"}} for n in openings]
    return fw.FirewallProps(layer=layer, nodes=nodes, openings=openings)


@pytest.fixture(scope="module")
def stacks():
    return {"lab": load_stack("lab"), "lab5": load_stack("lab5")}


# ---- namespaces --------------------------------------------------------------------------------
class Namespace:
    """A private network namespace held by an anchor process; with a mount namespace too whose /etc
    and /var/lib are overlays on temporary directories (written there, never on this machine)."""

    def __init__(self, work: Path, name: str):
        self.name = name
        self.proc = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private", "--", "sleep", "infinity"],
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            if netns_inode(self.proc.pid) != own_netns_inode():
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"namespace {name} did not start")
        for lower in ("/etc", "/var/lib"):
            upper, workdir = work / name / lower.strip("/").replace("/", "-"), work / name / (lower.strip("/") + ".work")
            upper.mkdir(parents=True)
            workdir.mkdir(parents=True)
            self.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={workdir}", lower])
        self.run(["ip", "link", "set", "lo", "up"])
        self.run(["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"])

    def argv(self, argv) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.proc.pid}/ns/net", f"--mount=/proc/{self.proc.pid}/ns/mnt", "--", *argv]

    def run(self, argv, stdin=None, ok_rc=(0,)):
        return run_local(self.argv(argv), stdin, ok_rc=ok_rc, name=self.name)

    def close(self):
        self.proc.kill()
        self.proc.wait()


class NsTransport:
    """hastack's Transport, running each command inside a Namespace."""

    def __init__(self, ns: Namespace):
        self.ns, self.name = ns, ns.name

    def run(self, argv, stdin=None, *, ok_rc=(0,), secret_stdin=False):
        return self.ns.run(argv, stdin, ok_rc)

    def put(self, path, content, mode=0o644):
        self.ns.run(put_argv(path, mode), content)

    def read(self, path):
        result = self.ns.run(["cat", "--", path], ok_rc=(0, 1))
        return result.stdout.encode() if result.exit_code == 0 else None


# ---- nft -c on every rendered file -------------------------------------------------------------
def test_nft_accepts_every_rendered_file_and_refuses_one_without_its_base_chain(stacks, tmp_path):
    nft_or_skip()
    files = []
    for stack, config in stacks.items():
        for layer in ("hypervisor", "guest"):
            p = props(config, layer, pcsd=True)
            for node in p.openings:
                path = tmp_path / f"{stack}-{layer}-{node}.nft"
                path.write_text(fw.render_nft(p, node))
                files.append(str(path))
    base = tmp_path / "base.nft"
    base.write_text(DEBIAN_DROP)
    check = 'nft -f "$1"; shift; for f; do nft -c -f "$f" || { echo "refused: $f"; exit 1; }; done'
    result = run_local(["unshare", "--net", "sh", "-c", check, "sh", str(base), *files], ok_rc=(0, 1))
    assert result.exit_code == 0 and len(files) == 8, result.stdout + result.stderr
    # The check is real: without the configured base chain, nft refuses the file.
    base.write_text("flush ruleset\ntable ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n")
    result = run_local(["unshare", "--net", "sh", "-c", check, "sh", str(base), files[0]], ok_rc=(0, 1))
    assert result.exit_code == 1 and "No such file or directory" in result.stderr


# ---- firewalld ---------------------------------------------------------------------------------
def firewalld_or_skip() -> dict:
    dist = unpacked("usr/lib/python3/dist-packages/firewall")
    if not Path(SYSTEM_PYTHON).exists() or run_local([SYSTEM_PYTHON, "-c", "import gi, dbus"], ok_rc=(0, 1)).exit_code:
        pytest.skip(f"{SYSTEM_PYTHON} cannot import gi and dbus (python3-gi, python3-dbus: setup/apt-packages.txt)")
    return dict(os.environ, PYTHONPATH=str(dist.parent))


RICH_RULES = "import json, sys\nfrom firewall.core.rich import Rich_Rule\nprint(json.dumps([str(Rich_Rule(rule_str=r)) for r in json.load(sys.stdin)]))"


def test_firewalld_parses_every_rendered_rich_rule_into_the_same_text_and_the_seeds_too(stacks):
    from tests.unit.test_firewall import SEED_NODE1

    env = firewalld_or_skip()
    rules = [r for config in stacks.values() for layer in ("hypervisor", "guest")
             for p in [props(config, layer, pcsd=True)] for node in p.openings for _, r in fw.rich_rules(p, node)]
    # per node, with pcsd: lab (8.4, three VMs) 6 + 6, lab5 (9) 15 + 7 (the guests' database and, with
    # monitoring on in both, NRPE from the Nagios server only)
    assert len(rules) == 2 * (6 + 6) + 2 * (15 + 7)
    assert sum('port="5666"' in r for r in rules) == 4
    assert 'rule family="ipv4" source address="10.0.5.0/24" port port="5432" protocol="tcp" accept' in rules
    parsed = json.loads(run_local([SYSTEM_PYTHON, "-c", RICH_RULES], json.dumps(rules), env=env).stdout)
    assert parsed == rules  # firewalld prints each exactly as hastack writes it: they read back equal
    seed = json.loads(run_local([SYSTEM_PYTHON, "-c", RICH_RULES], json.dumps(SEED_NODE1), env=env).stdout)
    # The seed's DRBD rules: one range of 50 ports from each ring address (hastack: one port a path).
    assert fw.parse_rich_rule(seed[0]) == fw.Rule(proto="tcp", ports=(7789, 7838), sources=("192.168.2.22",))
    assert seed[4] == SEED_NODE1[4]  # its pcsd rule, already in firewalld's form: hastack's own
    bad = run_local([SYSTEM_PYTHON, "-c", RICH_RULES], json.dumps([rules[0].replace('"udp"', '"upd"')]), env=env, ok_rc=(1,))
    assert "INVALID_PROTOCOL" in bad.stderr


# firewall-cmd as hastack's scripts call it, answered by the real firewall-offline-cmd on a
# temporary configuration: --permanent is what it always edits, the daemon's --state and --reload
# have no offline meaning.
FIREWALL_CMD_SHIM = """#!/bin/sh
for a do
  shift
  case $a in --permanent) continue;; --state) echo running; exit 0;; --reload) exit 0;; esac
  set -- "$@" "$a"
done
exec "$SYSTEM_PYTHON" "$OFFLINE_CMD" --system-config "$SYSTEM_CONFIG" --default-config "$DEFAULT_CONFIG" "$@"
"""


def test_firewalld_rules_land_in_each_addresses_zone_and_delete_leaves_what_hastack_did_not_add(stacks, tmp_path):
    """The reconcile and the probe, through firewall-offline-cmd: pg1's ring 2 interface is in zone
    internal, the rest in the default zone; a rule identical to one of hastack's and the seed's
    high-availability rule were there before; the update drops an opening; delete removes only
    what the ledger says hastack added."""
    env = firewalld_or_skip()
    system = tmp_path / "firewalld"
    shutil.copytree(unpacked("etc/firewalld"), system)
    shim = tmp_path / "bin" / "firewall-cmd"
    shim.parent.mkdir()
    shim.write_text(FIREWALL_CMD_SHIM)
    shim.chmod(0o755)
    shim_env = {"PATH": f"{shim.parent}:{os.environ['PATH']}", "PYTHONPATH": env["PYTHONPATH"],
                "SYSTEM_PYTHON": SYSTEM_PYTHON, "OFFLINE_CMD": str(unpacked("usr/bin/firewall-offline-cmd")),
                "SYSTEM_CONFIG": str(system), "DEFAULT_CONFIG": str(unpacked("usr/lib/firewalld"))}

    class Shimmed(NsTransport):
        def run(self, argv, stdin=None, *, ok_rc=(0,), secret_stdin=False):
            return self.ns.run(["env", *[f"{k}={v}" for k, v in shim_env.items()], *argv], stdin, ok_rc)

    p = props(stacks["lab"], "guest", only="pg1")
    (knet0, r0), (knet1, r1), (_, drbd), (mgmt, database), (_, nrpe) = fw.rich_rules(p, "pg1")
    ns = Namespace(tmp_path, "pg1")
    try:
        host = Shimmed(ns)
        for ifname, address in (("stor1", knet0), ("stor2", knet1)):
            ns.run(["ip", "link", "add", "name", ifname, "type", "veth", "peer", "name", f"{ifname}-peer"])  # no dummy module here
            ns.run(["ip", "addr", "add", f"{address}/24", "dev", ifname])
            ns.run(["ip", "link", "set", ifname, "up"])
        host.run(["firewall-cmd", "--zone=internal", "--add-interface=stor2"])
        seed_service = 'rule family="ipv4" source address="10.77.1.54" service name="high-availability" accept'
        for rule in (r0, seed_service):
            host.run(["firewall-cmd", "--zone=public", f"--add-rich-rule={rule}"])

        apply_live(fw.plan_create(p, fw.find(p, lambda _: host)), lambda _: host)
        state = fw.probe(p, lambda _: host)["pg1"]
        # the management address is on no interface here: its database rule goes to the default zone
        assert state.backend == "firewalld" and state.zones == {knet0: "public", knet1: "internal", mgmt: "public"}
        assert not fw.node_drifted(p, "pg1", state), state
        assert {(r.zone, r.ports[0]) for r in state.added} == {("internal", 5406), ("public", 7801), ("public", 5432),
                                                               ("public", 5666)}  # not 5405: it was there
        assert "5406" in (system / "zones" / "internal.xml").read_text() and "7801" in (system / "zones/public.xml").read_text()
        assert 'source address="10.77.0.0/24"' in (system / "zones/public.xml").read_text() and "10.77.0.0/24" in database

        smaller = p.model_copy(update={"openings": {"pg1": p.openings["pg1"][:2]}})  # pgdata, 5432, 5666 no longer opened
        apply_live(fw.plan_update(p, smaller, None), lambda _: host)
        public = (system / "zones/public.xml").read_text()
        assert "7801" not in public and "5432" not in public and "5666" not in public and "10.77.0.5\"" in nrpe
        assert host.read(fw.LEDGER).decode() == f"internal {r1}\n"

        apply_live(fw.plan_delete(smaller), lambda _: host)
        public = (system / "zones/public.xml").read_text()
        assert 'port="5405"' in public and 'service name="high-availability"' in public  # the operator's, kept
        assert "5406" not in (system / "zones/internal.xml").read_text()
        assert host.read(fw.LEDGER) is None
        apply_live(fw.plan_delete(smaller), lambda _: host)  # already gone: still succeeds
    finally:
        ns.close()


# ---- corosync: the ports it really binds -------------------------------------------------------
def test_the_real_corosync_binds_the_knet_ports_the_firewall_opens(stacks, tmp_path):
    """The lab hypervisors' rendered corosync.conf, run by the real corosync as node1 in a private
    network and mount namespace: it binds UDP 5405 on ring 1 and 5406 on ring 2 (5405 + link), and
    those are exactly node1's knet openings."""
    hv = stacks["lab"].hypervisor
    conf = render_corosync_conf(hv.name, tuple(CorosyncNode(n.fqdn, i + 1, tuple(map(str, n.ring_addresses)))
                                               for i, n in enumerate(hv.nodes)), hv.token_ms)
    key = tmp_path / "authkey"
    key.write_bytes(os.urandom(256))
    key.chmod(0o400)
    conf = conf.replace("totem {", f"totem {{\n    keyfile: {key}", 1).replace("to_logfile: yes", "to_logfile: no")
    (tmp_path / "corosync.conf").write_text(conf.replace("    logfile: /var/log/corosync/corosync.log\n", ""))
    node1 = hv.nodes[0]
    script = textwrap.dedent("""\
        mount -t tmpfs tmpfs /var/lib/corosync && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm || exit 99
        ip link set lo up; for a; do ip addr add "$a/24" dev lo; done
        corosync -f -c "$CONF" >"$LOG" 2>&1 & pid=$!
        for _ in $(seq 100); do [ -n "$(ss -Huan)" ] && break; sleep 0.1; done; sleep 0.5
        ss -Huan; kill "$pid"; wait "$pid"
        """)
    env = dict(os.environ, CONF=str(tmp_path / "corosync.conf"), LOG=str(tmp_path / "corosync.log"))
    result = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "--fork", "sh", "-c", script, "sh",
                             *map(str, node1.ring_addresses)], capture_output=True, text=True, timeout=60, env=env)
    bound = {tuple(line.split()[3].rsplit(":", 1)) for line in result.stdout.splitlines() if line.startswith("UNCONN")}
    assert bound == {(str(a), str(knet_port(link))) for link, a in enumerate(node1.ring_addresses)}, \
        result.stdout + result.stderr + (tmp_path / "corosync.log").read_text()
    opened = {(o.to, str(o.ports[0])) for o in fw.layer_openings(stacks["lab"], "hypervisor")[node1.name] if o.proto == "udp"}
    assert bound == opened


# ---- a firewall that filters: two namespaces, real sockets -------------------------------------
SERVER = textwrap.dedent("""\
    import socket, sys, threading
    def udp(addr, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
        while True:
            data, peer = s.recvfrom(100); s.sendto(data, peer)
    def tcp(addr, port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(8)
        while True:
            s.accept()[0].close()
    for spec in sys.argv[1:]:
        proto, addr, port = spec.split(":")
        threading.Thread(target=udp if proto == "udp" else tcp, args=(addr, int(port)), daemon=True).start()
    print("ready", flush=True); sys.stdin.read()
    """)
# Each probe at once (threads): does ADDR:PORT answer a datagram, or accept a connection, from SOURCE?
CLIENT = textwrap.dedent("""\
    import json, socket, sys, threading
    probes, answers = json.load(sys.stdin), {}
    def probe(name, proto, source, addr, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
        s.settimeout(1.5); s.bind((source, 0))
        try:
            if proto == "udp":
                s.sendto(b"knet?", (addr, port)); answers[name] = s.recvfrom(100)[0] == b"knet?"
            else:
                s.connect((addr, port)); answers[name] = True
        except OSError:
            answers[name] = False
    threads = [threading.Thread(target=probe, args=p) for p in probes]
    [t.start() for t in threads]; [t.join() for t in threads]
    print(json.dumps(answers))
    """)


@pytest.mark.parametrize("base", ["debian", "lab"])
def test_the_rendered_ruleset_opens_each_port_only_to_the_peer_and_the_plan_round_trips(stacks, tmp_path, base):
    """The lab's hypervisors node1 and node2, one namespace each, joined by a veth pair per ring;
    node2's ring 1 interface also holds 10.77.1.99, an address that is not node2's.  node1 serves
    corosync's two knet ports (UDP) and gw1's DRBD port 7789 (TCP) and, as a control, 7790 (gw1's
    second port, which DRBD 8.4 does not use).  Each host's own default-deny ruleset: Debian's
    file with its input policy drop, or the lab image's (hastack.lab.image.render_nftables_conf)."""
    nft_or_skip()
    deny = DEBIAN_DROP if base == "debian" else render_nftables_conf()
    config = stacks["lab"]
    p = props(config, "hypervisor")
    n1, n2 = (config.hypervisor.nodes[0], config.hypervisor.nodes[1])
    (a1, b1), (a2, b2) = [(str(n1.ring_addresses[i]), str(n2.ring_addresses[i])) for i in (0, 1)]
    other = "10.77.1.99"
    probes = {  # name -> (proto, from, to, port, answers once hastack's rules are in)
        "knet link 0 from the peer": ("udp", b1, a1, 5405, True),
        "knet link 0 from another address": ("udp", other, a1, 5405, False),
        "knet link 0 from the peer's ring 2 address": ("udp", b2, a1, 5405, False),
        "knet link 1 from the peer": ("udp", b2, a2, 5406, True),
        "drbd gw1 from the peer": ("tcp", b1, a1, 7789, True),
        "drbd gw1 from another address": ("tcp", other, a1, 7789, False),
        "gw1's unused second port": ("tcp", b2, a2, 7790, False),
    }
    expected = {name: spec[4] for name, spec in probes.items()}
    nodes, server = {}, None
    try:
        for node in (n1, n2):
            nodes[node.name] = Namespace(tmp_path, node.name)
        ns1, ns2 = nodes[n1.name], nodes[n2.name]
        for ring in (1, 2):
            ns1.run(["ip", "link", "add", "name", f"ring{ring}", "type", "veth", "peer", "name", f"ring{ring}", "netns",
                     str(ns2.proc.pid)])
        for ns, addresses in ((ns1, (a1, a2)), (ns2, (b1, b2))):
            for ring, address in enumerate(addresses, 1):
                ns.run(["ip", "addr", "add", f"{address}/24", "dev", f"ring{ring}"])
                ns.run(["ip", "link", "set", f"ring{ring}", "up"])
        ns2.run(["ip", "addr", "add", f"{other}/24", "dev", "ring1"])
        server = subprocess.Popen(ns1.argv([sys.executable, "-c", SERVER, f"udp:{a1}:5405", f"udp:{a2}:5406",
                                            f"tcp:{a1}:7789", f"tcp:{a2}:7790"]),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready"

        def answers() -> dict[str, bool]:
            specs = [(name, proto, source, addr, port) for name, (proto, source, addr, port, _) in probes.items()]
            return json.loads(ns2.run([sys.executable, "-c", CLIENT], json.dumps(specs)).stdout)

        def boot(ns, text=None):  # what nftables.service does at boot: nft -f /etc/nftables.conf
            if text is not None:
                ns.run(["sh", "-c", 'cat > /etc/nftables.conf', "sh"], text)
            ns.run(["nft", "-f", "/etc/nftables.conf"])

        hosts = {name: NsTransport(ns) for name, ns in nodes.items()}
        boot(ns1, DEBIAN_ACCEPT)
        assert answers() == dict.fromkeys(probes, True)  # control: the links carry every probe
        for ns in nodes.values():
            boot(ns, deny)
        assert answers() == dict.fromkeys(probes, False)  # default deny: the cluster could not form
        base_ruleset = ns1.run(["nft", "list", "ruleset"]).stdout
        assert fw.observe(p, hosts.__getitem__) is None  # nothing of hastack's there yet

        apply_live(fw.plan_create(p, fw.find(p, hosts.__getitem__)), hosts.__getitem__)
        assert answers() == expected
        live = fw.observe(p, hosts.__getitem__)
        assert fw.drifted(p, live) == () and live.nodes[n1.name].summary() == \
            "nftables: hastack_input with 5 rule(s), 1 jump(s), persisted"
        assert ns1.run(["cat", "/etc/nftables.conf"]).stdout == deny + fw.INCLUDE_LINE + "\n"

        # A rule deleted by hand is drift; the update puts it back.
        listing = ns1.run(["nft", "-a", "list", "chain", "inet", "filter", fw.CHAIN]).stdout
        handle = next(line.rsplit(" ", 1)[1] for line in listing.splitlines() if "dport 5405" in line)
        ns1.run(["nft", "delete", "rule", "inet", "filter", fw.CHAIN, "handle", handle])
        assert answers() == {**expected, "knet link 0 from the peer": False}
        live = fw.observe(p, hosts.__getitem__)
        assert fw.drifted(p, live) == ("openings",) and not fw.node_drifted(p, n2.name, live.nodes[n2.name])
        apply_live(fw.plan_update(p, p, live), hosts.__getitem__)
        assert answers() == expected and fw.drifted(p, fw.observe(p, hosts.__getitem__)) == ()
        assert ns1.run(["nft", "list", "chain", "inet", "filter", "input"]).stdout.count("jump hastack_input") == 1

        boot(ns1)  # after a reboot: the host's file, then hastack's through the include line
        assert answers() == expected and fw.drifted(p, fw.observe(p, hosts.__getitem__)) == ()

        apply_live(fw.plan_delete(p), hosts.__getitem__)
        assert answers() == dict.fromkeys(probes, False)
        assert ns1.run(["nft", "list", "ruleset"]).stdout == base_ruleset
        assert ns1.run(["cat", "/etc/nftables.conf"]).stdout == deny
        assert hosts[n1.name].read(fw.NFT_FILE) is None and hosts[n1.name].read(fw.staged_path(n1.name)) is None
        assert fw.observe(p, hosts.__getitem__) is None
        apply_live(fw.plan_delete(p), hosts.__getitem__)  # already gone: still succeeds

        # Input filtered by another base chain only: refused before any change, and by the host's script.
        boot(ns1, "flush ruleset\ntable ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n")
        with pytest.raises(HastackError, match="FIREWALL_BASE_CHAIN.*node1: nftables filters input in ip filter INPUT"):
            fw.find(p, hosts.__getitem__)
        with pytest.raises(HastackError, match="not by the configured base chain inet filter input"):
            apply_live(fw.plan_create(p, None), hosts.__getitem__)
        # No firewall at all: nothing to open, said as the live state.
        ns1.run(["nft", "flush", "ruleset"])
        assert fw.probe(p, hosts.__getitem__)[n1.name].summary() == fw.NO_FIREWALL
    finally:
        if server:
            server.kill()
            server.wait()
        for ns in nodes.values():
            ns.close()


# One ICMP echo from SOURCE to each address (a raw socket, root): does it answer within 1.5 s?
PING = textwrap.dedent("""\
    import json, socket, struct, sys
    def checksum(data):
        total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        total = (total >> 16) + (total & 0xFFFF); total += total >> 16
        return ~total & 0xFFFF
    source, answers = sys.argv[1], {}
    for addr in sys.argv[2:]:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(1.5); s.bind((source, 0))
        head = struct.pack("!BBHHH", 8, 0, 0, 0x4854, 1)
        s.sendto(struct.pack("!BBHHH", 8, 0, checksum(head + b"hastack!"), 0x4854, 1) + b"hastack!", (addr, 0))
        try:
            while True:
                data, peer = s.recvfrom(200)
                if peer[0] == addr and data[20] == 0:
                    answers[addr] = True; break
        except OSError:
            answers[addr] = False
    print(json.dumps(answers))
    """)


def test_the_lab_ruleset_accepts_replies_icmp_and_ssh_only_and_takes_hastacks_files(stacks, tmp_path):
    """The lab image's ruleset, loaded by the real nft in a namespace (lab node1) with a veth to a
    second one (node2, no firewall): node2 reaches node1's SSH and ICMP and nothing else (a
    listener on 7836 stays dark); node1's own connection out to node2 gets its replies; and every
    file hastack renders for a lab host passes `nft -c -f` against that live ruleset, one loaded
    for real goes first in the input chain."""
    nft_or_skip()
    a, b = "10.77.1.21", "10.77.1.22"
    nodes, server, peer = {}, None, None
    try:
        for name in ("node1", "node2"):
            nodes[name] = Namespace(tmp_path, name)
        ns1, ns2 = nodes["node1"], nodes["node2"]
        ns1.run(["ip", "link", "add", "name", "stor1", "type", "veth", "peer", "name", "stor1", "netns", str(ns2.proc.pid)])
        for ns, address in ((ns1, a), (ns2, b)):
            ns.run(["ip", "addr", "add", f"{address}/24", "dev", "stor1"])
            ns.run(["ip", "link", "set", "stor1", "up"])
        ns1.run(["sh", "-c", "cat > /etc/nftables.conf && nft -f /etc/nftables.conf", "sh"], render_nftables_conf())
        assert "policy drop;" in ns1.run(["nft", "list", "chain", "inet", "filter", "input"]).stdout
        server = subprocess.Popen(ns1.argv([sys.executable, "-c", SERVER, f"tcp:{a}:22", f"tcp:{a}:7836"]),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        peer = subprocess.Popen(ns2.argv([sys.executable, "-c", SERVER, f"tcp:{b}:7000", f"udp:{b}:7001"]),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready" and peer.stdout.readline().strip() == "ready"

        def answers(ns, specs) -> dict:
            return json.loads(ns.run([sys.executable, "-c", CLIENT], json.dumps(specs)).stdout)

        assert answers(ns2, [("ssh", "tcp", b, a, 22), ("unopened", "tcp", b, a, 7836)]) == {"ssh": True, "unopened": False}
        assert answers(ns1, [("out tcp", "tcp", a, b, 7000), ("out udp", "udp", a, b, 7001)]) == \
            {"out tcp": True, "out udp": True}  # replies to what node1 sent: a BMC's answer, say
        assert json.loads(ns2.run([sys.executable, "-c", PING, b, a]).stdout) == {a: True}

        files = []
        for layer in ("hypervisor", "guest"):
            p = props(stacks["lab"], layer)
            for node in p.openings:
                path = tmp_path / f"{layer}-{node}.nft"
                path.write_text(fw.render_nft(p, node))
                files.append(str(path))
        for path in files:
            ns1.run(["nft", "-c", "-f", path])
        assert len(files) == 4
        ns1.run(["nft", "-f", files[0]])
        listing = ns1.run(["nft", "list", "chain", "inet", "filter", "input"]).stdout
        assert listing.split("policy drop;\n")[1].lstrip().startswith("jump hastack_input")
        # database clients as networks and addresses read back from the real nft's JSON as written
        from tests.unit.test_firewall import lab_with

        guest = props(lab_with(database_clients=["10.77.9.0/24", "192.168.50.7"]), "guest", only="pg1")
        (tmp_path / "pg1-clients.nft").write_text(fw.render_nft(guest, "pg1"))
        ns1.run(["nft", "-f", str(tmp_path / "pg1-clients.nft")])
        rules, foreign = fw.parse_nft_chain(ns1.run(["nft", "-j", "list", "chain", "inet", "filter", fw.CHAIN]).stdout)
        assert foreign == 0 and {r.key() for r in rules} == fw.wanted_rules(guest, "pg1", fw.NodeFirewall(backend="nftables"))
        assert [r.sources for r in rules if r.ports == (5432, 5432)] == [("10.77.9.0/24", "192.168.50.7")]
    finally:
        for process in (server, peer):
            if process:
                process.kill()
                process.wait()
        for ns in nodes.values():
            ns.close()
