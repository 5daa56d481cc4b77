"""Firewall: each node opens its cluster's own ports, each only to its peer, in the host's firewall.

One resource per node and layer (components/firewalls.py), created before the layer's corosync
and DRBD resources, which depend on it; `destroy` removes it after them.  Its props come from
the stack config (`[hypervisor|guest].firewall`, hastack/config/models.py FirewallOptions).

What a node opens is derived from the stack config (`layer_openings`, from the table OPENINGS),
nothing else: corosync's knet link N (UDP 5405 + N, see render/corosync.py) only from the peer's
ring N address; each DRBD resource's path (TCP, the path's port) only from the peer's address on
that path, exactly as the rendered .res pairs them (render/drbd.py `resource_paths`: DRBD 9 one
path per ring, 8.4 the first ring only), so the hypervisors' openings change as VMs come and go;
on the guests, PostgreSQL's port only from the configured database clients (guest.firewall.
database_clients, by default the guests' management network); pcsd's 2224/tcp only from the peer's
management address when pcsd is on (the config has no pcsd option yet: a parameter, off by default);
on the guests with hastack:monitoring, NRPE's 5666/tcp only from the Nagios server.

The host's firewall is detected on the host, at probe and at apply time (one shell function,
DETECT); hastack never installs or starts a second firewall:

- firewalld running (`firewall-cmd --state`; RHEL's default): one rich rule per opening and source
  (`rule family="ipv4" source address=... port port=... protocol=... accept`), added `--permanent`
  and then `--reload`ed, read back with `--list-rich-rules` (runtime and permanent).  The zone is
  the one firewalld filters that traffic in: the zone of the interface holding the node's own
  address the traffic arrives at (its ring or management address), or the default zone when that
  interface has none.  Not simply the default zone: a site that puts its storage bridges in a zone
  of their own (NetworkManager's connection.zone) would never see rules in the default zone.  (A
  zone bound to the peer's address as a *source* would take precedence over both; hastack does
  not look for one.)  Rich rules carry no owner mark, so the rules hastack added are kept in a
  ledger on the host (LEDGER): a rule that was there before (the seed's own firewall-cmd lines,
  say) is left as it was on update and delete; only rules hastack added are ever removed.
- otherwise nftables, when the configured base chain (`base_chain`, default `inet filter input`,
  Debian's) exists: hastack owns a chain `hastack_input` in that chain's table, reached by one
  `jump hastack_input` at the top of the base chain.  Not a table of its own: every base chain on
  the input hook sees each packet, and an accept in one of them is final only for that chain; the
  host's own input chain (policy drop) would still drop the packet.  The chain is written to a
  file (NFT_FILE, checked with `nft -c -f` against the live ruleset first, loaded in one
  transaction that also replaces the jump) and kept at boot by one managed include line in
  `nftables_conf`.  A host whose input hook is filtered by other base chains only is refused,
  before any change, naming them.
- neither: the live state says "no firewall active: nothing to open", and nothing is done.
  (iptables-legacy rules are not looked at.)

Create and update apply the same reconcile (the wanted rules, nothing more: the chain is flushed,
firewalld rules hastack added and no longer wants are removed); delete removes exactly what
hastack added (its chain, jump, file, include line; the ledger's rich rules) wherever they are.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Iterator, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hastack.config.models import PG_PORT, BaseChain, Port, StackConfig
from hastack.layout import drbd_hosts, guest_drbd_ports, vm_drbd_ports
from hastack.plan import Put, Run, together
from hastack.render.corosync import knet_port
from hastack.render.drbd import DrbdHost, resource_paths
from hastack.render.nrpe import NRPE_PORT
from hastack.reports import HastackError
from hastack.resources.base import Live, Props, digest

Layer = Literal["hypervisor", "guest"]
PCSD_PORT = 2224
CHAIN = "hastack_input"
NFT_FILE = "/etc/nftables.d/hastack.nft"
INCLUDE_LINE = f'include "{NFT_FILE}"  # managed by hastack'
STATE_DIR = "/var/lib/hastack/firewall"
LEDGER = f"{STATE_DIR}/firewalld-rules"  # "<zone> <rich rule>" per rule hastack added
NO_FIREWALL = "no firewall active: nothing to open"


def _ipv4(value: str) -> str:
    return str(ipaddress.IPv4Address(value))


def _source(value: str) -> str:
    """An address, or a network in the form nft and firewalld print it (a /32 as its address)."""
    network = ipaddress.IPv4Network(value)
    return str(network.network_address) if network.prefixlen == 32 else str(network)


Address = Annotated[str, AfterValidator(_ipv4)]
Source = Annotated[str, AfterValidator(_source)]
DATABASE = "postgresql clients"  # the purpose of the guests' database opening


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Opening(Model):
    """One port range a node opens, to its peer's addresses only."""

    proto: Literal["tcp", "udp"]
    ports: tuple[Port, Port]  # first, last
    sources: tuple[Source, ...] = Field(min_length=1)  # the peer's addresses (database clients: networks too)
    to: Address  # this node's own address the traffic arrives at (firewalld: its interface's zone)
    purpose: Annotated[str, Field(pattern=r'^[A-Za-z0-9 ._()-]{1,100}$')]  # the rule's comment


class Rule(Model):
    """An accept rule as read back from a host (nftables: a rule of hastack_input; firewalld: a
    rich rule of one source, in its zone)."""

    proto: Literal["tcp", "udp"]
    ports: tuple[int, int]
    sources: tuple[str, ...]
    comment: str = ""
    zone: str = ""

    def key(self) -> tuple:
        return self.zone, self.proto, self.ports, tuple(sorted(self.sources)), self.comment


# ---- what a layer opens: the table, and the one function over it --------------------------------
def _cluster(config: StackConfig, layer: Layer):
    return config.hypervisor if layer == "hypervisor" else config.guest


def _peers(nodes):
    return ((nodes[0], nodes[1]), (nodes[1], nodes[0]))


def _corosync(config: StackConfig, layer: Layer, pcsd: bool) -> Iterator[tuple[str, Opening]]:
    cluster = _cluster(config, layer)
    for node, peer in _peers(cluster.nodes):
        for link, ring in enumerate(cluster.rings):
            yield node.name, Opening(proto="udp", ports=(knet_port(link),) * 2, sources=(str(peer.ring_addresses[link]),),
                                     to=str(node.ring_addresses[link]), purpose=f"corosync knet link {link} ({ring.name})")


def _drbd_resources(config: StackConfig, layer: Layer):
    """(name, nodes, ports, dialect) of each DRBD resource of the layer, as its component builds it."""
    if layer == "hypervisor":
        hv = config.hypervisor
        return [(vm.name, hv.nodes, vm_drbd_ports(vm, hv.drbd, len(hv.rings)), hv.drbd.dialect) for vm in config.vms]
    guest = config.guest
    return [(guest.drbd.resource, guest.nodes, guest_drbd_ports(guest), guest.drbd_options.dialect)]


def _drbd(config: StackConfig, layer: Layer, pcsd: bool) -> Iterator[tuple[str, Opening]]:
    rings = _cluster(config, layer).rings
    for name, nodes, ports, dialect in _drbd_resources(config, layer):
        hosts = tuple(DrbdHost(on_name, addresses) for on_name, addresses in drbd_hosts(nodes))
        for path, (port, addresses) in enumerate(resource_paths(hosts, ports, dialect)):
            for me, peer in ((0, 1), (1, 0)):
                yield nodes[me].name, Opening(proto="tcp", ports=(port, port), sources=(addresses[peer],),
                                              to=addresses[me], purpose=f"drbd {name} path {path} ({rings[path].name})")


def _database_address(guest, node) -> str:
    """The guest's own address on the VIP's network (where IPaddr2 puts the VIP, so its zone's rules
    apply to the clients), else its management address."""
    network = ipaddress.IPv4Network(f"{guest.vip}/{guest.vip_cidr_netmask}", strict=False)
    return str(next((a for a in (node.mgmt_address, *node.ring_addresses) if a in network), node.mgmt_address))


def _database(config: StackConfig, layer: Layer, pcsd: bool) -> Iterator[tuple[str, Opening]]:
    clients = config.database_clients() if layer == "guest" else None
    if clients:
        for node in config.guest.nodes:
            yield node.name, Opening(proto="tcp", ports=(PG_PORT,) * 2, sources=tuple(map(str, clients)),
                                     to=_database_address(config.guest, node), purpose=DATABASE)


def _pcsd(config: StackConfig, layer: Layer, pcsd: bool) -> Iterator[tuple[str, Opening]]:
    if pcsd:
        for node, peer in _peers(_cluster(config, layer).nodes):
            yield node.name, Opening(proto="tcp", ports=(PCSD_PORT,) * 2, sources=(str(peer.mgmt_address),),
                                     to=str(node.mgmt_address), purpose="pcsd")


def _nrpe(config: StackConfig, layer: Layer, pcsd: bool) -> Iterator[tuple[str, Opening]]:
    monitoring = config.monitoring_on()
    if monitoring and layer == "guest":
        for node in config.guest.nodes:
            yield node.name, Opening(proto="tcp", ports=(NRPE_PORT,) * 2, sources=(str(monitoring.nagios.address),),
                                     to=str(node.mgmt_address), purpose="nrpe from the nagios server")


# Everything the firewall opens, declared once: corosync's links, each DRBD path, the guests'
# database, pcsd, the guests' NRPE.
OPENINGS = (_corosync, _drbd, _database, _pcsd, _nrpe)


def layer_openings(config: StackConfig, layer: Layer, pcsd: bool = False) -> dict[str, tuple[Opening, ...]]:
    """Node name -> what it opens, for each node of LAYER (none for a stack without that layer)."""
    cluster = _cluster(config, layer)
    if cluster is None:
        return {}
    out: dict[str, list[Opening]] = {n.name: [] for n in cluster.nodes}
    for kind in OPENINGS:
        for node, opening in kind(config, layer, pcsd):
            out[node].append(opening)
    return {node: tuple(openings) for node, openings in out.items()}


# ---- props and live state ------------------------------------------------------------------------
class FirewallProps(Props):
    openings: dict[str, tuple[Opening, ...]]  # node name -> what it opens
    # nftables: the host's base chain that filters input ("family table chain"); hastack_input
    # goes into its table.  RHEL without firewalld: its nftables.conf is /etc/sysconfig/nftables.conf.
    base_chain: BaseChain = "inet filter input"
    nftables_conf: str = "/etc/nftables.conf"


class NodeFirewall(Model):
    """One node's firewall as found: which backend, and what of hastack's is there."""

    backend: Literal["firewalld", "nftables", "none", "other"]  # other: nftables without the base chain
    input_chains: tuple[str, ...] = ()  # other: the base chains that do filter the input hook
    # nftables
    chain: bool = False  # hastack_input exists
    rules: tuple[Rule, ...] = ()  # nftables: hastack_input's rules; firewalld: the zones' runtime rich rules
    foreign: int = 0  # rules in hastack_input of a shape hastack never writes
    jumps: int = 0  # `jump hastack_input` rules in the base chain
    file_sha256: str | None = None  # of NFT_FILE
    included: bool = False  # the include line is in nftables_conf
    # firewalld
    zones: dict[str, str] = {}  # this node's address -> the zone its traffic is filtered in
    permanent: tuple[Rule, ...] = ()
    added: tuple[Rule, ...] = ()  # the ledger: rich rules hastack added

    def summary(self) -> str:
        if self.backend == "none":
            return NO_FIREWALL
        if self.backend == "other":
            return f"nftables filters input in {', '.join(self.input_chains)}, not in the configured base chain"
        if self.backend == "firewalld":
            return f"firewalld: {len(self.added)} rich rule(s) added by hastack, zones {sorted(set(self.zones.values()))}"
        return (f"nftables: {CHAIN} {'with ' + str(len(self.rules)) + ' rule(s)' if self.chain else 'missing'}, "
                f"{self.jumps} jump(s), {'persisted' if self.file_sha256 and self.included else 'not persisted'}")


class FirewallLive(Live):
    nodes: dict[str, NodeFirewall]


PROPS, LIVE = FirewallProps, FirewallLive
COMPARED = ("openings", "base_chain", "nftables_conf")
# Another base chain or conf file: the old jump and include line go with the old props (delete).
REPLACED = ("base_chain", "nftables_conf")


def resource_id(props: FirewallProps) -> str:
    return "-".join((props.layer, "firewall", *(n.name for n in props.nodes)))


def base_chain(props: FirewallProps) -> tuple[str, str, str]:
    family, table, chain = props.base_chain.split()
    return family, table, chain


def staged_path(node: str) -> str:
    return f"{STATE_DIR}/{node}.nft"


# ---- rendering: the nftables file, the rich rules ------------------------------------------------
def _port_text(ports: tuple[int, int], sep: str) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}{sep}{ports[1]}"


def nft_rule(opening: Opening) -> str:
    sources = opening.sources[0] if len(opening.sources) == 1 else "{ " + ", ".join(opening.sources) + " }"
    return (f"ip saddr {sources} {opening.proto} dport {_port_text(opening.ports, '-')} accept "
            f'comment "{opening.purpose}"')


def render_nft(props: FirewallProps, node: str) -> str:
    """NFT_FILE for NODE: hastack_input in the base chain's table, emptied and filled, and the jump
    at the top of the base chain.  Loaded live after the old jump is deleted (one transaction);
    at boot after the host's own tables (the include line is the conf's last)."""
    family, table, chain = base_chain(props)
    rules = "".join(f"\t\t{nft_rule(o)}\n" for o in props.openings[node])
    return (f"#!/usr/sbin/nft -f\n# Managed by hastack: what the {props.layer} cluster opens on {node}, each port only "
            f"from the addresses that use it.\n"
            f"# Loaded by hastack, at boot through the include line in {props.nftables_conf}.\n"
            f"table {family} {table} {{\n\tchain {CHAIN} {{\n\t}}\n}}\n"
            f"flush chain {family} {table} {CHAIN}\n"
            f"table {family} {table} {{\n\tchain {CHAIN} {{\n{rules}\t}}\n}}\n"
            f"insert rule {family} {table} {chain} jump {CHAIN}\n")


def rich_rule(proto: str, ports: tuple[int, int], source: str) -> str:
    """A rich rule as firewalld itself prints it (`--list-rich-rules`), so it reads back equal."""
    return (f'rule family="ipv4" source address="{source}" port port="{_port_text(ports, "-")}" '
            f'protocol="{proto}" accept')


_RICH = re.compile(r'^rule family="ipv4" source address="([0-9.]+(?:/[0-9]+)?)" port port="([0-9]+)(?:-([0-9]+))?" '
                   r'protocol="(tcp|udp)" accept$')


def parse_rich_rule(text: str, zone: str = "") -> Rule | None:
    """A rich rule of hastack's shape; None for any other (services, logging, rejects ...)."""
    match = _RICH.match(text.strip())
    if not match:
        return None
    source, first, last, proto = match.groups()
    return Rule(proto=proto, ports=(int(first), int(last or first)), sources=(source,), zone=zone)


def rich_rules(props: FirewallProps, node: str) -> tuple[tuple[str, str], ...]:
    """(this node's address, rich rule) per opening and source: the zone comes from the address."""
    return tuple((o.to, rich_rule(o.proto, o.ports, source)) for o in props.openings[node] for source in o.sources)


# ---- shell: detection, probe, apply, remove ------------------------------------------------------
# Which firewall filters this host's input; $1 $2 $3 are the configured base chain.
DETECT = r'''
input_chains() { nft list chains 2>/dev/null | awk '$1 == "table" {t = $2 " " $3} $1 == "chain" {c = $2} /hook input/ {print t " " c}'; }
firewalld_running() { command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; }
backend() {
  if firewalld_running; then echo firewalld
  elif ! command -v nft >/dev/null 2>&1; then echo none
  elif nft list chain "$1" "$2" "$3" >/dev/null 2>&1; then echo nftables
  elif [ -n "$(input_chains)" ]; then echo other
  else echo none; fi
}
zone_of() {
  i=$(ip -o -4 addr show to "$1" 2>/dev/null | awk '{print $2; exit}'); z=
  [ -z "$i" ] || z=$(firewall-cmd --get-zone-of-interface="$i" 2>/dev/null) || z=
  [ -n "$z" ] || z=$(firewall-cmd --get-default-zone)
  echo "$z"
}
jump_deletes() { nft -a list chain "$1" "$2" "$3" 2>/dev/null | sed -n "s/.*jump hastack_input .*# handle \([0-9]*\)$/delete rule $1 $2 $3 handle \1/p"; }
'''

# $1-$3 base chain, $4 NFT_FILE, $5 nftables.conf, $6 its include line, $7 LEDGER, then this node's addresses.
PROBE = DETECT + r'''
f=$1 t=$2 c=$3 file=$4 conf=$5 line=$6 ledger=$7; shift 7
b=$(backend "$f" "$t" "$c"); echo "backend $b"
case $b in
firewalld)
  zones=
  for a; do z=$(zone_of "$a"); echo "zone $a $z"; zones="$zones $z"; done
  for z in $(printf '%s\n' $zones | sort -u); do
    firewall-cmd --zone="$z" --list-rich-rules | sed "s/^/runtime $z /"
    firewall-cmd --permanent --zone="$z" --list-rich-rules | sed "s/^/permanent $z /"
  done
  [ ! -f "$ledger" ] || sed 's/^/added /' "$ledger";;
nftables)
  echo "jumps $(jump_deletes "$f" "$t" "$c" | wc -l)"
  j=$(nft -j list chain "$f" "$t" hastack_input 2>/dev/null) && echo "chain $j"
  [ ! -f "$file" ] || echo "file $(sha256sum < "$file" | cut -d ' ' -f 1)"
  ! grep -qxF "$line" "$conf" 2>/dev/null || echo included;;
other) input_chains | sed 's/^/input /';;
esac
exit 0
'''

# $1-$3 base chain, $4 the staged file, $5 NFT_FILE, $6 nftables.conf, $7 its include line,
# $8 LEDGER, then pairs (this node's address, rich rule).
APPLY = DETECT + r'''
set -e
f=$1 t=$2 c=$3 staged=$4 file=$5 conf=$6 line=$7 ledger=$8; shift 8
b=$(backend "$f" "$t" "$c")
case $b in
none) echo "no firewall active: nothing to open";;
other) echo "this host's input is filtered by $(input_chains | paste -sd , -), not by the configured base chain" \
  "$f $t $c; hastack_input must sit in the chain that filters input: set the firewall's base chain to it" >&2; exit 3;;
nftables)
  nft -c -f "$staged"
  mkdir -p "${file%/*}"; cp -f "$staged" "$file.hastack-new"; chmod 0644 "$file.hastack-new"; mv -f "$file.hastack-new" "$file"
  { jump_deletes "$f" "$t" "$c"; echo "include \"$file\""; } | nft -f -
  if [ -f "$conf" ] && ! grep -qxF "$line" "$conf"; then
    [ -z "$(tail -c 1 "$conf")" ] || echo >> "$conf"
    printf '%s\n' "$line" >> "$conf"
  fi;;
firewalld)
  mkdir -p "${ledger%/*}"; touch "$ledger"; keep=$(mktemp); zones=$(mktemp); trap 'rm -f "$keep" "$zones"' EXIT
  while [ $# -ge 2 ]; do
    z=$(awk -v a="$1" '$1 == a {print $2}' "$zones")
    [ -n "$z" ] || { z=$(zone_of "$1"); echo "$1 $z" >> "$zones"; }
    r=$2; shift 2
    printf '%s %s\n' "$z" "$r" >> "$keep"
    if ! firewall-cmd --permanent --zone="$z" --query-rich-rule="$r" >/dev/null 2>&1; then
      firewall-cmd --permanent --zone="$z" --add-rich-rule="$r" >/dev/null
      grep -qxF "$z $r" "$ledger" || printf '%s %s\n' "$z" "$r" >> "$ledger"
    fi
  done
  while read -r z r; do
    grep -qxF "$z $r" "$keep" && continue
    ! firewall-cmd --permanent --zone="$z" --query-rich-rule="$r" >/dev/null 2>&1 \
      || firewall-cmd --permanent --zone="$z" --remove-rich-rule="$r" >/dev/null
  done < "$ledger"
  grep -xF -f "$keep" "$ledger" > "$ledger.new" || true; mv -f "$ledger.new" "$ledger"
  firewall-cmd --reload >/dev/null;;
esac
'''

# $1-$3 base chain, $4 NFT_FILE, $5 nftables.conf, $6 its include line, $7 LEDGER, $8 the staged file.
REMOVE = DETECT + r'''
set -e
f=$1 t=$2 c=$3 file=$4 conf=$5 line=$6 ledger=$7 staged=$8
if command -v nft >/dev/null 2>&1 && nft list chain "$f" "$t" hastack_input >/dev/null 2>&1; then
  { jump_deletes "$f" "$t" "$c"; echo "delete chain $f $t hastack_input"; } | nft -f -
fi
rm -f "$file" "$staged"
if [ -f "$conf" ] && grep -qxF "$line" "$conf"; then
  grep -vxF "$line" "$conf" > "$conf.hastack-new" || true; cat "$conf.hastack-new" > "$conf"; rm -f "$conf.hastack-new"
fi
if [ -s "$ledger" ]; then
  if firewalld_running; then fc="firewall-cmd --permanent"
  elif command -v firewall-offline-cmd >/dev/null 2>&1; then fc=firewall-offline-cmd
  else echo "$ledger lists rich rules hastack added, but firewalld is neither running nor has firewall-offline-cmd here" >&2; exit 3; fi
  while read -r z r; do
    ! $fc --zone="$z" --query-rich-rule="$r" >/dev/null 2>&1 || $fc --zone="$z" --remove-rich-rule="$r" >/dev/null
  done < "$ledger"
  [ "$fc" = firewall-offline-cmd ] || firewall-cmd --reload >/dev/null
fi
rm -f "$ledger"
'''


def probe_argv(props: FirewallProps, node: str) -> list[str]:
    addresses = dict.fromkeys(o.to for o in props.openings[node])
    return ["sh", "-c", PROBE, "sh", *base_chain(props), NFT_FILE, props.nftables_conf, INCLUDE_LINE, LEDGER, *addresses]


def apply_argv(props: FirewallProps, node: str) -> tuple[str, ...]:
    pairs = [part for pair in rich_rules(props, node) for part in pair]
    return ("sh", "-c", APPLY, "sh", *base_chain(props), staged_path(node), NFT_FILE, props.nftables_conf,
            INCLUDE_LINE, LEDGER, *pairs)


def remove_argv(props: FirewallProps, node: str) -> tuple[str, ...]:
    return ("sh", "-c", REMOVE, "sh", *base_chain(props), NFT_FILE, props.nftables_conf, INCLUDE_LINE, LEDGER,
            staged_path(node))


# ---- parsers -------------------------------------------------------------------------------------
def _nft_value(value) -> str | None:
    """An address as nft -j prints it: a string, or a prefix {"prefix": {"addr": ..., "len": ...}}."""
    if isinstance(value, (str, int)):
        return str(value)
    prefix = value.get("prefix") if isinstance(value, dict) else None
    if isinstance(prefix, dict) and isinstance(prefix.get("addr"), str) and isinstance(prefix.get("len"), int):
        return f"{prefix['addr']}/{prefix['len']}"
    return None


def _nft_values(right) -> tuple | None:
    values = right["set"] if isinstance(right, dict) and isinstance(right.get("set"), list) else [right]
    found = tuple(_nft_value(v) for v in values)
    return None if None in found else found


def _nft_ports(right) -> tuple[int, int] | None:
    if isinstance(right, int):
        return right, right
    if isinstance(right, dict) and isinstance(right.get("range"), list) and len(right["range"]) == 2:
        return tuple(right["range"])
    return None


def parse_nft_rule(rule: dict) -> Rule | None:
    """A rule of `nft -j list chain` in hastack's shape (ip saddr, tcp/udp dport, accept); None
    for any other."""
    proto = ports = sources = None
    accept = False
    for expr in rule.get("expr", ()):
        match = expr.get("match")
        if match and match.get("op") == "==":
            payload = match.get("left", {}).get("payload", {})
            if (payload.get("protocol"), payload.get("field")) == ("ip", "saddr") and sources is None:
                sources = _nft_values(match["right"])
            elif payload.get("protocol") in ("tcp", "udp") and payload.get("field") == "dport" and ports is None:
                proto, ports = payload["protocol"], _nft_ports(match["right"])
            else:
                return None
        elif "accept" in expr and not accept:
            accept = True
        else:
            return None
    if not (accept and proto and ports and sources):
        return None
    return Rule(proto=proto, ports=ports, sources=tuple(str(s) for s in sources), comment=rule.get("comment", ""))


def parse_nft_chain(text: str) -> tuple[tuple[Rule, ...], int]:
    """(hastack's rules, count of other rules) of `nft -j list chain ... hastack_input`."""
    rules, foreign = [], 0
    for item in json.loads(text).get("nftables", ()):
        if "rule" in item:
            rule = parse_nft_rule(item["rule"])
            rules, foreign = (rules + [rule], foreign) if rule else (rules, foreign + 1)
    return tuple(rules), foreign


def parse_probe(stdout: str) -> NodeFirewall:
    fields: dict = {"backend": "none"}
    inputs, zones, runtime, permanent, added = [], {}, [], [], []
    for line in stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word == "backend":
            fields["backend"] = rest.strip()
        elif word == "input":
            inputs.append(rest.strip())
        elif word == "zone":
            address, _, zone = rest.partition(" ")
            zones[address] = zone.strip()
        elif word in ("runtime", "permanent", "added"):
            zone, _, text = rest.partition(" ")
            rule = parse_rich_rule(text, zone)
            if rule:
                {"runtime": runtime, "permanent": permanent, "added": added}[word].append(rule)
        elif word == "jumps":
            fields["jumps"] = int(rest)
        elif word == "chain":
            fields["rules"], fields["foreign"] = parse_nft_chain(rest)
            fields["chain"] = True
        elif word == "file":
            fields["file_sha256"] = rest.strip()
        elif word == "included":
            fields["included"] = True
    if fields["backend"] == "firewalld":
        fields.update(rules=tuple(runtime), permanent=tuple(permanent), added=tuple(added), zones=zones)
    return NodeFirewall(input_chains=tuple(inputs), **fields)


# ---- look before the create, live state, drift ---------------------------------------------------
def probe(props: FirewallProps, transport_for) -> dict[str, NodeFirewall]:
    return {n.name: parse_probe(transport_for(n.name).run(probe_argv(props, n.name)).stdout) for n in props.nodes}


def refuse_other_chains(props: FirewallProps, found: dict[str, NodeFirewall]) -> None:
    for node, state in found.items():
        if state.backend == "other":
            raise HastackError("FIREWALL_BASE_CHAIN", (
                f"{node}: nftables filters input in {', '.join(state.input_chains)}, and there is no base chain "
                f"{props.base_chain!r} (the configured one) for {CHAIN} to sit in; an accept anywhere else would not "
                "get a packet past those chains. Set the firewall's base chain to the one that filters input"))


def find(props: FirewallProps, transport_for) -> dict[str, NodeFirewall]:
    """Each node's firewall, before any change; FIREWALL_BASE_CHAIN where nftables filters input
    in chains other than the configured one."""
    found = probe(props, transport_for)
    refuse_other_chains(props, found)
    return found


def wanted_rules(props: FirewallProps, node: str, state: NodeFirewall) -> set[tuple]:
    """The keys of the rules NODE must hold, in the form its backend reads back."""
    if state.backend == "firewalld":
        return {Rule(proto=o.proto, ports=o.ports, sources=(s,), zone=state.zones.get(o.to, "")).key()
                for o in props.openings[node] for s in o.sources}
    return {Rule(proto=o.proto, ports=o.ports, sources=o.sources, comment=o.purpose).key() for o in props.openings[node]}


def node_drifted(props: FirewallProps, node: str, state: NodeFirewall) -> bool:
    if state.backend == "none":
        return False
    if state.backend == "other":
        return True
    wanted = wanted_rules(props, node, state)
    if state.backend == "firewalld":
        return not (wanted <= {r.key() for r in state.rules} and wanted <= {r.key() for r in state.permanent})
    return ({r.key() for r in state.rules} != wanted or state.foreign or state.jumps != 1 or not state.included
            or state.file_sha256 != digest(render_nft(props, node)))


def _has_ours(props: FirewallProps, node: str, state: NodeFirewall) -> bool:
    if state.backend == "nftables":
        return state.chain or state.file_sha256 is not None or state.jumps > 0
    if state.backend == "firewalld":
        return bool(state.added) or bool(wanted_rules(props, node, state) & {r.key() for r in state.rules})
    return state.backend == "none"  # nothing to open is all there is to find


def observe(props: FirewallProps, transport_for) -> FirewallLive | None:
    """None when nothing of hastack's is on any node (a host without a firewall counts as done)."""
    nodes = probe(props, transport_for)
    if not any(_has_ours(props, node, state) for node, state in nodes.items()):
        return None
    return FirewallLive(nodes=nodes)


def drifted(props: FirewallProps, live: FirewallLive) -> tuple[str, ...]:
    return ("openings",) if any(node_drifted(props, n, s) for n, s in live.nodes.items()) else ()


# ---- plans ---------------------------------------------------------------------------------------
def apply_plan(props: FirewallProps):
    """Per node: its nftables file staged in hastack's own directory (inert there), then one
    reconcile with whatever firewall the host runs."""
    return together({n.name: (Put(staged_path(n.name), render_nft(props, n.name).encode()), Run(apply_argv(props, n.name)))
                     for n in props.nodes})


def plan_create(props: FirewallProps, found: dict[str, NodeFirewall] | None):
    if found is not None:
        refuse_other_chains(props, found)
    return apply_plan(props)


def plan_update(old: FirewallProps, new: FirewallProps, live: FirewallLive | None):
    # The same reconcile: the chain is rewritten whole, and firewalld rules hastack added for the
    # old openings leave through the ledger.
    if live is not None:
        refuse_other_chains(new, live.nodes)
    return apply_plan(new)


def plan_delete(props: FirewallProps):
    return together({n.name: (Run(remove_argv(props, n.name)),) for n in props.nodes})
