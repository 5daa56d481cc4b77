"""The stack's configuration as typed, frozen models.

Every cross-field rule lives here so that a bad `Pulumi.<stack>.yaml` fails before any host is
touched, with an error that names the field, the value and the fix.
"""
from __future__ import annotations

import ipaddress
import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from hastack.config.pacemaker_names import (
    CLUSTER_OPTIONS,
    META_VALUES,
    OPTION_VALUES,
    RESOURCE_META,
    bad_value,
    score,
    unknown_name,
)

_IDENT = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_SIZE = re.compile(r"^[1-9][0-9]*[MGT]$")
_DURATION = re.compile(r"^[0-9]+(ms|s|m|min|h)?$")
_RESOURCE_AGENT = re.compile(r"^((ocf:[A-Za-z0-9_.-]+|systemd|service|lsb):)?[A-Za-z0-9_.@-]+$")

# Bounds an operator would accept.  corosync's token: under 1 s a busy host misses it and drops
# out of the membership (and is fenced); over 1 min a dead node goes unnoticed that long.
TOKEN_MS = (1000, 60_000)
# An operation timeout under 1 s fails every operation (a failed stop fences the node); over
# 1 h a hung operation holds up recovery for that long.
OP_TIMEOUT_MS = (1000, 3_600_000)
# PostgreSQL's port on the guests: the pgsql agent's default pgport (hastack sets none).
PG_PORT = 5432


def _identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(
            f"{value!r} is not a safe identifier: use 2-32 lower-case letters, digits and '-', "
            "starting with a letter (it becomes a file, device, libvirt and Pacemaker name)"
        )
    return value


def _host_name(value: str) -> str:
    if not _HOST_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a host name: give the host's `uname -n` (lower-case labels of letters, "
            "digits and '-', separated by dots)"
        )
    return value


def _size(value: str) -> str:
    if not _SIZE.match(value):
        raise ValueError(f"{value!r} is not a size: write a whole number with M, G or T, e.g. 40G")
    return value


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a Pacemaker duration: write e.g. 15s, 500ms or 2min")
    return value


def duration_ms(value: str) -> int:
    """Pacemaker's duration syntax, to milliseconds (a bare number is seconds)."""
    match = re.match(r"^([0-9]+)(ms|s|m|min|h)?$", value)
    if not match:
        raise ValueError(value)
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000}[unit]


def _op_timeout(value: str) -> str:
    low, high = OP_TIMEOUT_MS
    if not low <= duration_ms(value) <= high:
        raise ValueError(
            f"operation timeout {value} is outside 1s..1h: under 1 s every operation fails (a failed stop fences "
            "the node), over 1 h a hung operation holds up recovery; write e.g. 60s or 10min"
        )
    return value


def _resource_agent(value: str) -> str:
    if value.startswith("stonith:"):
        raise ValueError(f"{value!r} is a fence agent: a fence device is no chain link (guest fencing is guest.fencing)")
    if not _RESOURCE_AGENT.match(value):
        raise ValueError(f"{value!r} is not a resource agent: write ocf:<provider>:<type> (e.g. ocf:heartbeat:anything), "
                         "systemd:<unit>, or a bare type of ocf:heartbeat")
    return value


def _token_ms(value: int) -> int:
    low, high = TOKEN_MS
    if not low <= value <= high:
        raise ValueError(
            f"corosync token {value} ms is outside {low}..{high} ms: under 1 s a busy host misses the token and is "
            "fenced, over 1 min a dead node goes unnoticed that long; corosync's default is 3000 "
            "(slow, emulated hosts: 10000)"
        )
    return value


def _secret_given(value: SecretStr) -> SecretStr:
    # The value itself is never part of the message.
    if not value.get_secret_value().strip():
        raise ValueError("the secret is empty: a fence device or SSH login without it fails only when it is needed")
    return value


def _names(known: frozenset[str], what: str, kinds: dict):
    def check(value: dict[str, str]) -> dict[str, str]:
        for name, setting in value.items():
            problem = unknown_name(name, known, what) or bad_value(name, setting, kinds)
            if problem:
                raise ValueError(problem)
        return value
    return check


def _key_file_text(value: SecretStr) -> SecretStr:
    """A private key as its file must hold it: OpenSSH refuses a key file without its final newline
    ("Load key ...: error in libcrypto"), and YAML block scalars and secret round trips drop it."""
    return SecretStr(value.get_secret_value().strip() + "\n")


Identifier = Annotated[str, AfterValidator(_identifier)]
HostName = Annotated[str, AfterValidator(_host_name)]
Secret = Annotated[SecretStr, AfterValidator(_secret_given)]
PrivateKey = Annotated[SecretStr, AfterValidator(_secret_given), AfterValidator(_key_file_text)]
Size = Annotated[str, AfterValidator(_size)]
Duration = Annotated[str, AfterValidator(_duration)]
OpTimeout = Annotated[str, AfterValidator(_duration), AfterValidator(_op_timeout)]
TokenMs = Annotated[int, AfterValidator(_token_ms)]
ResourceAgent = Annotated[str, AfterValidator(_resource_agent)]
ClusterProperties = Annotated[dict[str, str],
                              AfterValidator(_names(CLUSTER_OPTIONS, "cluster property", OPTION_VALUES))]
ResourceDefaults = Annotated[dict[str, str],
                             AfterValidator(_names(RESOURCE_META, "resource meta-attribute", META_VALUES))]
Port = Annotated[int, Field(ge=1, le=65535)]
IPv4 = ipaddress.IPv4Address
Subnet = ipaddress.IPv4Network


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DrbdDialect(str, Enum):
    """DRBD 9 renders `connection { path ... }` (multi-path); 8.4 has one address pair per host."""

    V9 = "9"
    V84 = "8.4"


class Failback(str, Enum):
    """Whether a VM returns to its preferred node when that node comes back.

    The seed set resource-stickiness=1 against a location preference of 100, which lets VMs fail
    back; its author then chose to keep that behaviour.  hastack makes the choice explicit.
    """

    ALLOWED = "allowed"
    PREVENTED = "prevented"


class Ssh(Model):
    """How hastack reaches a host, and the host keys it must present (never accepted blindly)."""

    host: str = Field(description="address or name to connect to")
    port: Port = Field(default=22, description="SSH port")
    user: str = Field(default="root", description="login user; any other user runs every command through `sudo -n`")
    host_keys: tuple[str, ...] = Field(
        default=(), description="public host keys, e.g. 'ssh-ed25519 AAAA...'"
    )
    known_hosts_file: str | None = Field(
        default=None, description="known_hosts file, relative to the project root"
    )
    key_file: str | None = Field(
        default=None, description="client private key file, relative to the project root"
    )
    private_key: PrivateKey | None = Field(default=None, description="client private key (secret)")
    connect_wait: int | None = Field(
        default=None, ge=0, le=3600,
        description="seconds to keep retrying a host that does not answer yet (a VM that is booting); "
        "guests default to 600, hypervisors to 0",
    )

    @model_validator(mode="after")
    def _host_key_pinned(self) -> "Ssh":
        """At least one host key pinned (host_keys or known_hosts_file); each key is `<type> <base64>`."""
        if not self.host_keys and not self.known_hosts_file:
            raise ValueError(
                f"no host key pinned for {self.host}:{self.port}: set ssh.host_keys "
                "(ssh-keyscan output checked out of band) or ssh.known_hosts_file"
            )
        for key in self.host_keys:
            if len(key.split()) < 2:
                raise ValueError(f"host key {key!r} is not '<type> <base64>'")
        return self


class Bmc(Model):
    """A hypervisor's out-of-band controller: its fence device `fence-<node>` (stonith:fence_ipmilan)."""

    address: IPv4 = Field(description="the BMC's own address (fence_ipmilan ip=), never its node's")
    username: str = Field(description="IPMI user (fence_ipmilan username=)")
    password: Secret = Field(description="IPMI password (fence_ipmilan password=; secret: it reaches the host in the "
                             "CIB patch on stdin, never on a command line)")
    lanplus: bool = Field(default=True, description="IPMI v2 / RMCP+ (fence_ipmilan lanplus=1)")
    port: Port = Field(default=623, description="IPMI port (fence_ipmilan ipport=, written only when not 623)")
    cipher: int | None = Field(default=None, ge=0, le=17, description="IPMI cipher suite (fence_ipmilan cipher=)")


class Ring(Model):
    """A corosync link and DRBD path: a point-to-point storage network."""

    name: Identifier = Field(description="the ring's name in this config and in messages")
    subnet: Subnet = Field(description="the ring's network: each node's ring address lies in it; rings of one layer "
                           "never overlap")
    bridge: str | None = Field(default=None, description="the hosts' bridge on this ring that guests attach to, "
                               "holding each node's ring address (checked before up; hastack does not create it)")
    mtu: int | None = Field(default=None, ge=576, le=65535, description="the MTU of the interface holding each "
                            "node's ring address (checked before up, never set: host networking stays the operator's)")


class Alert(Model):
    """A Pacemaker alert (`pcs alert create`) and its recipients, in the layer's CIB."""

    id: Identifier = Field(description="the alert's id in the CIB")
    path: str = Field(description="the alert agent's path on the nodes (an agent of the operator's: on the layers of "
                      "monitoring.alert_layers hastack installs /usr/local/bin/alert_nsca.sh and registers nsca-alert "
                      "itself)")
    recipients: tuple[tuple[Identifier, str], ...] = Field(
        description="(recipient id, value) pairs, e.g. [[nsca-recipient, nagios]]"
    )


class DrbdMonitorIntervals(Model):
    """Monitor intervals of a DRBD clone.  Each monitor costs an agent run on every node; slow
    hosts (emulated ones) spend most of their CPU on monitors at the defaults."""

    drbd_promoted: Duration = Field(default="30s", description="monitor of each DRBD clone in the Promoted role")
    drbd_unpromoted: Duration = Field(default="60s", description="monitor of each DRBD clone in the Unpromoted role")

    @model_validator(mode="after")
    def _distinct(self) -> "DrbdMonitorIntervals":
        """drbd_promoted and drbd_unpromoted differ (Pacemaker tells monitors apart by interval)."""
        # Pacemaker tells a resource's monitors apart by their interval alone.
        if duration_ms(self.drbd_promoted) == duration_ms(self.drbd_unpromoted):
            raise ValueError(f"monitor_intervals: drbd_promoted and drbd_unpromoted are both "
                             f"{self.drbd_promoted}; Pacemaker needs two different intervals (e.g. 30s and 60s)")
        return self


class MonitorIntervals(DrbdMonitorIntervals):
    """Monitor intervals of the hypervisor layer (the defaults are the seed's)."""

    vm: Duration = Field(default="30s", description="each VirtualDomain's monitor")


class GuestMonitorIntervals(DrbdMonitorIntervals):
    """Monitor intervals of the guest layer's resources (the defaults are the seed's)."""

    filesystem: Duration = Field(default="20s", description="monitor of the Filesystem resource (guest.fs_id)")
    pgsql: Duration = Field(default="10s", description="monitor of the pgsql resource (guest.pgsql_id)")
    vip: Duration = Field(default="10s", description="monitor of the IPaddr2 resource (guest.vip_id)")


class OpTimeouts(Model):
    """Operation timeouts of the hypervisor layer's resources.  The defaults are the seed's; slow
    hosts (a BMC that takes 17 s to answer, emulated CPUs) need more, or a probe that times out
    counts as a failure and its recovery can end in fencing."""

    fence: OpTimeout | None = Field(default=None, description="fence devices' start and monitor, and their "
                                    "pcmk_monitor_timeout (Pacemaker: 20s and 60s)")
    vm_start: OpTimeout = Field(default="60s", description="each VirtualDomain's start")
    vm_stop: OpTimeout = Field(default="60s", description="each VirtualDomain's stop: a stop that overruns fences "
                               "the node")
    vm_monitor: OpTimeout = Field(default="30s", description="also the probe of each VirtualDomain")
    drbd_monitor: OpTimeout | None = Field(default=None, description="the DRBD clones' monitors (agent: 20s)")


class GuestOpTimeouts(Model):
    """Operation timeouts of the guest layer's resources (defaults: the agents' own)."""

    fence: OpTimeout | None = Field(default=None, description="fence devices' start and monitor, and their "
                                    "pcmk_monitor_timeout (Pacemaker: 20s and 60s)")
    drbd_monitor: OpTimeout | None = Field(default=None, description="the pgdata DRBD clone's monitors (agent: 20s)")
    resource_monitor: OpTimeout | None = Field(
        default=None, description="monitors (and so probes) of the filesystem, pgsql and VIP")
    resource_start: OpTimeout | None = Field(
        default=None, description="starts of the filesystem, pgsql and VIP: a start that overruns is a failure "
        "that moves the chain away (the agents' own defaults otherwise; IPaddr2's is 20s)")
    resource_stop: OpTimeout | None = Field(
        default=None, description="stops of the filesystem, pgsql and VIP: a stop that overruns fences the node "
        "(the agents' own defaults otherwise; IPaddr2's is 20s)")


class Tiebreaker(Model):
    """In a partition, the survivor's fence device waits, so the survivor shoots first."""

    survivor: Identifier = Field(description="the node (by name) that wins a partition")
    delay_base: Duration = Field(default="15s", description="pcmk_delay_base of the device that fences the survivor")
    delay_max: Duration = Field(default="30s", description="pcmk_delay_max of that device: its delay is random "
                                "between delay_base and this")


class SelinuxModule(Model):
    """A policy module compiled on every node of the layer and installed with `semodule -X <priority> -i`."""

    name: Identifier = Field(description="the module's name (<name>.pp)")
    source: str = Field(description=".te file, relative to the project root")
    priority: int = Field(default=300, ge=1, le=999, description="semodule priority (-X)")


class ClusterNode(Model):
    """A node of either layer."""

    name: Identifier = Field(description="the node's handle in this config and in object ids (fence-<name>)")
    fqdn: HostName = Field(description="the host's `uname -n`: its DRBD on-section name and its Pacemaker node name")
    mgmt_address: IPv4 = Field(description="where pcsd and SSH listen (eno1 in the seed)")
    ring_addresses: tuple[IPv4, ...] = Field(description="one per ring, in ring order: corosync.conf ringN_addr and "
                                             "the node's DRBD path addresses")
    ssh: Ssh = Field(description="how hastack reaches the node")


    @property
    def pacemaker_name(self) -> str:
        """Pacemaker's name for the node is its `uname -n`, the name DRBD knows it by: DRBD's
        crm-fence-peer handler writes `#uname ne $(uname -n)` into its constraint, so under any
        other name that constraint forbids promotion on the survivor too."""
        return self.fqdn


class HypervisorNode(ClusterNode):
    """A KVM host of the hypervisor layer."""

    vm_bridge_address: IPv4 | None = Field(default=None, description="br-internal address")
    bmc: Bmc | None = Field(default=None, description="the node's BMC, its fence device "
                            "(every node needs one)")


class DrbdOptions(Model):
    """DRBD on a layer's nodes: /etc/drbd.d/global_common.conf and every resource's .res."""

    dialect: DrbdDialect = Field(description="the hosts' DRBD: 9 writes node-ids and one `path` per ring, 8.4 one "
                                 "address per host on the first ring only")
    resync_rate: str = Field(default="100M", description="each .res: disk { resync-rate }")
    verify_alg: str = Field(default="sha256", description="each .res: net { verify-alg } (for `drbdadm verify`)")
    fencing: Literal["resource-and-stonith", "resource-only", "dont-care"] = Field(
        default="resource-and-stonith", description="global_common.conf fencing policy (under net for 9, disk for "
        "8.4), which makes DRBD call crm-fence-peer; resource-and-stonith also suspends I/O until the peer is fenced")
    wfc_timeout: int = Field(default=30, description="global_common.conf startup { wfc-timeout }, seconds")
    degr_wfc_timeout: int = Field(default=15, description="global_common.conf startup { degr-wfc-timeout }, seconds")
    port_range: tuple[Port, Port] = Field(default=(7789, 7838), description="the ports DRBD resources of this layer "
                                          "may use: every VM's drbd_ports lie in it (the firewall opens only the "
                                          "ports in use, each to its peer: see firewall)")


_BASE_CHAIN = re.compile(r"^(inet|ip) [A-Za-z0-9_-]+ [A-Za-z0-9_-]+$")


def _base_chain(value: str) -> str:
    if not _BASE_CHAIN.match(value):
        raise ValueError(f"base_chain {value!r} is not '<family> <table> <chain>' with family inet or ip (e.g. 'inet "
                         "filter input', Debian's; `nft list chains` on the host shows the chain with `hook input`)")
    return value


BaseChain = Annotated[str, AfterValidator(_base_chain)]


class FirewallOptions(Model):
    """The host firewall of a layer's nodes (hastack/resources/firewall.py): `up` opens corosync's knet port of each
    link only from the peer's ring address, each DRBD path's port only from the peer's address on it, and nothing
    else (not pcsd's 2224: hastack does not use pcsd); `destroy` takes exactly that back. The firewall is found on
    each host: firewalld where it runs (rich rules, in the zone of the interface the traffic arrives on), else
    nftables (a chain of hastack's in the base chain's table), else none (nothing to open). hastack never installs
    or starts one."""

    base_chain: BaseChain = Field(default="inet filter input", description="nftables only: the host's base chain that "
                            "filters input, '<family> <table> <chain>'; hastack's chain hastack_input goes into its "
                            "table, reached by one jump at its top (Debian's layout: inet filter input)")
    nftables_conf: str = Field(default="/etc/nftables.conf", description="nftables only: the file the host loads "
                               "at boot, where hastack adds one include line so its rules come back after a reboot "
                               "(RHEL's nftables.service without firewalld reads /etc/sysconfig/nftables.conf)")

    @field_validator("nftables_conf")
    @classmethod
    def _conf_path(cls, value: str) -> str:
        """nftables_conf is an absolute path."""
        if not re.match(r"^/[A-Za-z0-9._/-]+$", value) or "/../" in value + "/":
            raise ValueError(f"nftables_conf {value!r} is not an absolute path of letters, digits and ._-/: give the "
                             "file nftables.service loads at boot (Debian: /etc/nftables.conf)")
        return value


_NAME_TEMPLATE_FIELDS = re.compile(r"\{([^{}]*)\}")


def _name_template(value: str, fields: tuple[str, ...]) -> str:
    used = _NAME_TEMPLATE_FIELDS.findall(value)
    if set(used) != set(fields) or len(used) != len(fields):
        raise ValueError(f"{value!r} is not a name template: it needs {' and '.join('{' + f + '}' for f in fields)}, "
                         "each once, and nothing else in braces (e.g. '{node}s{ring}' gives node1s1)")
    sample = value.format(**{f: "node1" if f == "node" else "1" for f in fields})
    if not _HOST_NAME.match(sample) or "." in sample:
        raise ValueError(f"{value!r} gives {sample!r}, which is not a host name label (lower-case letters, digits, "
                         "'-'): write e.g. '{node}s{ring}'")
    return value


class HostsFileOptions(Model):
    """hastack's block in each node's /etc/hosts (hastack/resources/hosts_entries.py): every node of the layer at its
    mgmt_address (fqdn, then name), at each ring address, and (hypervisors) its BMC, on every node of the layer, as
    the seed adds them by hand. The rest of the file stays the host's; a line of the host's that names one of these
    at another address is refused before anything is written."""

    enabled: bool = Field(default=True, description="write the block (false: hastack leaves /etc/hosts alone)")
    ring_names: str = Field(default="{node}s{ring}", description="each ring address's name: {node} the node's name, "
                            "{ring} the ring's number from 1 (the seed's node1s1, node1s2)")

    @field_validator("ring_names")
    @classmethod
    def _ring_names(cls, value: str) -> str:
        """ring_names is a template of {node} and {ring} giving a host name label."""
        return _name_template(value, ("node", "ring"))


class HypervisorHostsFileOptions(HostsFileOptions):
    """The hypervisors' /etc/hosts block, their BMCs' names included."""

    bmc_names: str = Field(default="{node}-bmc", description="each BMC's name: {node} the node's name (the seed's "
                           "node1-idrac)")

    @field_validator("bmc_names")
    @classmethod
    def _bmc_names(cls, value: str) -> str:
        """bmc_names is a template of {node} giving a host name label."""
        return _name_template(value, ("node",))


def _networks(value):
    if not isinstance(value, (list, tuple)):
        return value
    out: list[ipaddress.IPv4Network] = []
    for entry in value:
        text = str(entry).strip()
        try:
            network = ipaddress.IPv4Network(text)
        except ValueError:
            try:
                loose = ipaddress.IPv4Network(text, strict=False)
            except ValueError:
                raise ValueError(f"database_clients: {text!r} is not an IPv4 network or address: write e.g. "
                                 "10.0.5.0/24, or 10.0.5.60 for one client") from None
            raise ValueError(f"database_clients: {text} has host bits set: write its network, {loose}, or the one "
                             f"client {text.split('/')[0]}") from None
        for seen in out:
            if network.overlaps(seen):
                raise ValueError(f"database_clients: {network} overlaps {seen}: list each client network once (the "
                                 "wider one covers the other)")
        out.append(network)
    return tuple(out)


class GuestFirewallOptions(FirewallOptions):
    """The guests' host firewall: the guest cluster's knet links and pgdata's DRBD port, each only from the peer
    guest, and PostgreSQL's port from its clients."""

    database_clients: tuple[Subnet, ...] | None = Field(default=None, description=(
        f"the networks (or single addresses) PostgreSQL's clients connect from: the only sources the guests accept "
        f"on the database port ({PG_PORT}, the pgsql agent's default), on their own input, where the VIP's traffic "
        "lands.  Default: the guests' management network, the network of each guest's VM `address` (vms[].address "
        "holding the guest's mgmt_address); required when that is not given.  Without an opening a default-deny "
        "guest (RHEL's firewalld) refuses every client: the seed wrote no firewall rule on its guests at all.  "
        "PostgreSQL itself still admits only what pg_hba.conf says (written once, at initdb: the first VM "
        "address's network).  [] opens the port to nobody (a policy warning)"))

    @field_validator("database_clients", mode="before")
    @classmethod
    def _clients(cls, value):
        """database_clients: each a network without host bits (or one address), none overlapping another."""
        return _networks(value)


class VmBoot(Model):
    """A protected VM boots from its DRBD disk, or (tiny lab VMs) from a kernel on the host."""

    kernel: str | None = Field(default=None, description="a kernel on the host to boot directly (libvirt <kernel>); "
                               "with initrd, or neither")
    initrd: str | None = Field(default=None, description="its initrd on the host (libvirt <initrd>)")
    cmdline: str = Field(default="console=ttyS0", description="the kernel command line (libvirt <cmdline>), with kernel "
                         "only")


_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+:~-]*$")
_UNIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]*$")
_PARTLABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$")


def _matching(pattern: re.Pattern, what: str, fix: str):
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}: {fix}")
        return value
    return check


PackageName = Annotated[str, AfterValidator(_matching(_PACKAGE, "a package name", "give names only, e.g. pcs"))]
UnitName = Annotated[str, AfterValidator(_matching(_UNIT, "a systemd unit name", "e.g. pcsd or pcsd.service"))]


class CloudUser(Model):
    """A user cloud-init makes at the VM's first boot (user-data `users:`)."""

    name: str = Field(pattern=_USER_NAME.pattern, description="the login name")
    groups: tuple[str, ...] = Field(default=(), description="supplementary groups, e.g. [wheel]")
    sudo: str | None = Field(default=None, description="a sudoers rule, e.g. 'ALL=(ALL) NOPASSWD:ALL'")
    shell: str | None = Field(default=None, description="login shell, e.g. /bin/bash")
    ssh_authorized_keys: tuple[str, ...] = Field(default=(), description="public keys that may log in as this user")
    lock_passwd: bool = Field(default=True, description="lock the password (key login only)")
    hashed_passwd: Secret | None = Field(default=None, description="crypt(3) hash of the password, e.g. from "
                                         "`openssl passwd -6` (secret; never the password itself)")

    @field_validator("ssh_authorized_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Each key is one line `<type> <base64> [comment]`."""
        for key in value:
            if len(key.split()) < 2 or "\n" in key:
                raise ValueError(f"authorized key {key[:40]!r} is not one line '<type> <base64> [comment]'")
        return value


class DataPartition(Model):
    """A partition appended at the first boot in the space the image leaves free on the VM's disk: the guest's
    own DRBD backing device (the seed's vda5, made by hand with parted)."""

    disk: str = Field(default="/dev/vda", description="the VM's disk, as the guest sees it")
    label: str = Field(default="drbd-data", pattern=_PARTLABEL.pattern, description=(
        "the GPT partition name: the partition is made once (a disk that has one of this name is left alone) and is "
        "/dev/disk/by-partlabel/<label> in the guest"))
    size: Size | None = Field(default=None, description="its size; left out, all the free space")


class CloudInit(Model):
    """The VM's OS from its cloud image: a NoCloud seed that names it, puts static addresses on every NIC (by the
    MACs hastack gives them), makes its users, its data partition and its SSH host key (made by the stack, so the
    first connection is verified), then disables cloud-init, as the seed's provision-vm.yml does.  Booted once
    outside Pacemaker, then handed to it."""

    hostname: HostName | None = Field(default=None, description="the guest's host name; default: the VM's name")
    fqdn: HostName | None = Field(default=None, description="the guest's fqdn; default: <hostname>.<hypervisor.domain>")
    gateway: IPv4 | None = Field(default=None, description="the default route, on the first NIC (in `address`'s network)")
    nameservers: tuple[IPv4, ...] = Field(default=(), description="DNS servers, on the first NIC")
    users: tuple[CloudUser, ...] = Field(description="the users to make; at least one with ssh_authorized_keys")
    packages: tuple[PackageName, ...] = Field(default=(), description="packages installed at the first boot (the image's "
                                      "repositories must reach them; a RHEL image has none before registration)")
    services: tuple[UnitName, ...] = Field(default=(), description="systemd units enabled and started after the packages")
    data_partition: DataPartition | None = Field(default=None, description="the guest's data partition; left out, "
                                                 "none is made")
    ssh_wait: Duration = Field(default="5min", description=(
        "how long the first boot may take to answer SSH at the pinned host key, checked from the preferred "
        "hypervisor; past it `up` fails and the VM is left running outside Pacemaker (the next `up` waits again)"))
    shutdown_wait: Duration = Field(default="2min", description=(
        "how long the clean shutdown after the first boot may take (ACPI, `virsh shutdown`); past it `up` fails"))

    @model_validator(mode="after")
    def _someone_logs_in(self) -> "CloudInit":
        """Some user has an authorized key; user names are unique."""
        _unique([u.name for u in self.users], "cloud_init.users[].name", "list each user once")
        if not any(u.ssh_authorized_keys for u in self.users):
            raise ValueError("cloud_init.users: no user has ssh_authorized_keys, so nobody could log in to the VM "
                             "after its first boot; give one user (e.g. the seed's ansible) its public key")
        return self


class ProtectedVm(Model):
    """A VM on DRBD under Pacemaker: LV, DRBD resource and libvirt domain on both hypervisors, its promotable
    DRBD clone, its VirtualDomain (created disabled) and constraints, then enabled."""

    name: Identifier = Field(description="the libvirt domain and DRBD resource name; LV lv-<name>, Pacemaker "
                             "<name>-vm and drbd-<name>-clone")
    preferred_node: Identifier = Field(description="the hypervisor node (by name) the VM prefers: its location "
                                       "constraint, and where a new disk's first DRBD primary is made")
    location_score: int = Field(default=100, ge=-1_000_000, le=1_000_000,
                                description="the score of that location constraint")
    lv_size: Size = Field(description="lv-<name> on both hypervisors; a larger size grows both LVs and then the DRBD "
                          "device (drbdadm resize), a smaller one is refused")
    drbd_minor: int = Field(ge=0, le=1_048_575, description="/dev/drbd<minor>, the VM's disk; one per VM")
    drbd_ports: tuple[Port, Port] = Field(description="one per ring: path 1, path 2")
    vcpus: int = Field(default=2, ge=1, le=64, description="libvirt <vcpu>")
    memory_mib: int = Field(default=2048, ge=64, description="libvirt <memory unit='MiB'>")
    address: ipaddress.IPv4Interface | None = Field(default=None, description=(
        "the VM's own address/prefix, set inside the VM, not by hastack: the VM's `address` output, checked against "
        "every other address; the first VM address's network is what the guests' pg_hba.conf admits"))
    storage_addresses: tuple[IPv4, ...] = Field(default=(), description=(
        "the VM's addresses on the storage rings, set inside the VM: only checked against every other address"))
    networks: tuple[str, ...] = Field(default=("br-internal",), description="host bridges, in NIC order")
    boot: VmBoot = Field(default=VmBoot(), description="how the domain boots: from its disk unless a kernel is given")
    image: str | None = Field(default=None, description="qcow2 written once into a new DRBD disk")
    cloud_init: CloudInit | None = Field(default=None, description=(
        "the VM's OS from `image` by cloud-init (NoCloud seed, one boot outside Pacemaker); left out, the image is "
        "written as it is and nothing else is done"))
    force_stop: bool = Field(default=False, description=(
        "stop by destroying the domain instead of an ACPI shutdown (VirtualDomain force_stop): only "
        "for a domain with no OS to shut down, such as a lab stand-in; a real guest loses unflushed writes"))


class HypervisorCluster(Model):
    """The hypervisor layer: corosync and Pacemaker on the two KVM hosts, IPMI fencing, DRBD's global config."""

    name: Identifier = Field(description="corosync.conf cluster_name, and the prefix of this layer's Pulumi resource "
                             "names")
    domain: str = Field(description="the site's DNS domain; informational: nothing on the hosts is made from it")
    rings: tuple[Ring, ...] = Field(description="corosync knet links and DRBD paths, 1 to 8, in priority order (the "
                                    "first has the highest knet_link_priority)")
    token_ms: TokenMs = Field(default=3000, description="corosync.conf totem.token: how long a silent node is "
                              "waited for before it is declared lost (and fenced)")
    nodes: tuple[HypervisorNode, ...] = Field(description="the two hypervisors")
    fence_agent: Literal["fence_ipmilan"] = Field(default="fence_ipmilan", description="the agent of each node's "
                                                  "fence device fence-<node>, against its BMC")
    fence_monitor_interval: Duration = Field(default="60s", description="each fence device's monitor")
    op_timeouts: OpTimeouts = Field(default_factory=OpTimeouts, description="this layer's operation timeouts")
    monitor_intervals: MonitorIntervals = Field(default_factory=MonitorIntervals,
                                                description="this layer's monitor intervals")
    start_wait: Duration = Field(
        default="5min", description="how long `pulumi up` waits for each resource it enables, and each fence device, to run "
        "(it fails with the resource's failed actions otherwise); 0s: enable and go on")
    tiebreaker: Tiebreaker = Field(description="which hypervisor survives a partition")
    properties: ClusterProperties = Field(default={"stonith-enabled": "true"}, description="Pacemaker cluster "
                                          "properties (crm_config), names Pacemaker 2.1 knows")
    resource_defaults: ResourceDefaults = Field(description="resource meta-attribute defaults (rsc_defaults), e.g. "
                                                "resource-stickiness")
    failback: Failback = Field(description="whether VMs return to their preferred node when it is back; prevented "
                               "needs resource-stickiness above every VM's location_score")
    alerts: tuple[Alert, ...] = Field(default=(), description="Pacemaker alerts of this layer")
    selinux_modules: tuple[SelinuxModule, ...] = Field(default=(), description="policy modules for both hypervisors")
    drbd: DrbdOptions = Field(description="DRBD of the VM disks")
    firewall: FirewallOptions = Field(default_factory=FirewallOptions, description="what `up` opens in the "
                                      "hypervisors' firewall: knet links and every VM's DRBD ports, each to the peer")
    hosts_file: HypervisorHostsFileOptions = Field(default_factory=HypervisorHostsFileOptions, description="the "
                                                   "hypervisors' names in their /etc/hosts")
    volume_group: str = Field(default="vg-data", description="the LVM volume group on both hypervisors holding each "
                              "VM's LV (/dev/<volume_group>/lv-<vm>)")
    drbd_agent_patch: bool = Field(default=True, description="patch ocf:linbit:drbd on both hypervisors (crm_master -> "
                                   "crm_attribute --promotion; a backup is kept and restored on delete)")
    libvirt_domain_type: Literal["kvm", "qemu"] = Field(
        default="kvm", description="qemu = software emulation, for hosts without KVM (the lab)"
    )

    def node(self, name: str) -> HypervisorNode:
        return next(n for n in self.nodes if n.name == name)

    @model_validator(mode="after")
    def _consistent(self) -> "HypervisorCluster":
        """Two nodes, each with a BMC of its own; one address per ring inside its subnet; the survivor is a node."""
        _check_two_nodes(self.nodes, "hypervisor")
        _check_rings(self.rings, self.nodes, "hypervisor")
        _check_survivor(self.tiebreaker, self.nodes, "hypervisor")
        for i, node in enumerate(self.nodes):
            if node.bmc is None:
                raise ValueError(
                    f"hypervisor.nodes[{i}] ({node.name}) has no bmc: every node needs a fence "
                    "device; add bmc: {address, username, password}"
                )
        first: dict = {}
        for i, node in enumerate(self.nodes):
            if node.bmc.address in first:
                raise ValueError(
                    f"hypervisor.nodes[{i}].bmc.address {node.bmc.address} is also hypervisor.nodes"
                    f"[{first[node.bmc.address]}].bmc.address: both fence devices would power one machine, so a node "
                    "could fence itself and never its peer; give each node its own BMC's address")
            first[node.bmc.address] = i
        return self


class GuestNode(ClusterNode):
    """A guest of the PostgreSQL layer, running inside one protected VM."""

    vm: Identifier = Field(description="the protected VM this guest runs in")

    @model_validator(mode="after")
    def _guests_may_be_booting(self) -> "GuestNode":
        """ssh.connect_wait defaults to 600 s: a guest is first reached right after its VM started."""
        # A guest is first reached right after Pacemaker started its VM: give it time to boot.
        if self.ssh.connect_wait is None:
            object.__setattr__(self.ssh, "connect_wait", 600)
        return self


class GuestDrbd(Model):
    """The replicated device inside the guests that holds PostgreSQL's data."""

    resource: Identifier = Field(default="pgdata", description="the DRBD resource (<resource>.res), Pacemaker "
                                 "drbd-<resource>-clone")
    minor: int = Field(default=0, ge=0, description="/dev/drbd<minor> in the guests")
    port: Port = Field(default=7801, description="its DRBD port, the same on every path")
    disk: str = Field(default="/dev/vda5", description="the guests' backing block device")


class GuestFencing(Model):
    """A guest fences its peer by having the hypervisors kill the peer's VM, through a locked-down account."""

    agent: Annotated[str, Field(pattern=r"^fence_[a-z0-9_]+$")] = Field(
        default="fence_pgrestart", description="the rendered fence agent, /usr/sbin/<agent> in the guests; the "
        "devices are stonith:<agent>")
    account: Identifier = Field(default="fence-agent", description="the account on the hypervisors it logs in to "
                                "(/home/<account>, /etc/sudoers.d/<account>-virsh, lingering)")
    private_key: PrivateKey = Field(description="the guests' key for the fence account (secret)")
    public_key: str = Field(description="private_key's public half: the account's authorized_keys, restricted to "
                            "the fence-vm forced command")
    hypervisor_addresses: tuple[IPv4, ...] = Field(
        description="where the guests reach the hypervisors' fence account (br-internal)"
    )
    hypervisor_host_keys: dict[IPv4, tuple[str, ...]] = Field(
        default={}, description="each of those addresses -> that hypervisor's own host keys, for the guests' "
                                "known_hosts (default: the keys pinned for its SSH)"
    )

    @field_validator("hypervisor_host_keys", mode="before")
    @classmethod
    def _keys_per_address(cls, value):
        """hypervisor_host_keys maps each address to its own keys, never one flat list."""
        if isinstance(value, (list, tuple)):
            raise ValueError(
                "hypervisor_host_keys is a list: give each hypervisor address its own keys "
                "({10.0.5.21: [ssh-ed25519 AAAA...], 10.0.5.22: [...]}); a flat list would let any "
                "hypervisor's key vouch for every address, or leave it out to use each node's pinned SSH keys"
            )
        return value
    tiebreaker: Tiebreaker = Field(description="which guest survives a partition")
    monitor_interval: Duration = Field(default="60s", description="each guest fence device's monitor, which asks "
                                       "the hypervisors' fence account")
    timeout: OpTimeout = Field(default="120s", description="pcmk_off_timeout/pcmk_reboot_timeout")


class ChainOp(Model):
    """One operation of a chain extra."""

    name: Literal["monitor", "start", "stop"] = Field(description="the operation")
    interval: Duration = Field(default="0s", description="a monitor's interval; 0s for start and stop")
    timeout: OpTimeout | None = Field(default=None, description="its timeout (the agent's default otherwise)")

    @model_validator(mode="after")
    def _interval(self) -> "ChainOp":
        """A monitor has an interval; start and stop have none."""
        if self.name == "monitor" and duration_ms(self.interval) == 0:
            raise ValueError("a monitor with interval 0s never runs again after the probe: give it an interval, e.g. 10s")
        if self.name != "monitor" and duration_ms(self.interval) != 0:
            raise ValueError(f"{self.name} runs once, so its interval is 0s (got {self.interval}): leave interval out")
        return self


class ChainExtra(Model):
    """A primitive of the guest chain beyond Filesystem, pgsql and VIP (e.g. a connection pooler):
    started right after the link `after` names, stopped before it, on the node running the chain."""

    id: Identifier = Field(description="the primitive's Pacemaker id")
    after: Identifier = Field(description="the link it starts after: guest.fs_id, guest.pgsql_id, guest.vip_id or "
                              "the id of an extra listed before it")
    agent: ResourceAgent = Field(description="its resource agent, installed on the guests and where pulumi runs "
                                 "(pcs reads its metadata there)")
    params: dict[str, str] = Field(default={}, description="instance attributes")
    meta: ResourceDefaults = Field(default={}, description="meta-attributes, names Pacemaker 2.1 knows")
    ops: tuple[ChainOp, ...] = Field(description="at least a monitor; start and stop timeouts as the agent needs")

    @model_validator(mode="after")
    def _monitored(self) -> "ChainExtra":
        """At least one monitor; no two ops with one name and interval."""
        if not any(op.name == "monitor" for op in self.ops):
            raise ValueError(f"{self.id} has no monitor op, so Pacemaker would never notice it failed: add "
                             "ops: [{name: monitor, interval: 10s}]")
        _unique([(op.name, duration_ms(op.interval)) for op in self.ops], f"{self.id}.ops (name, interval)",
                "Pacemaker tells a resource's operations apart by name and interval: give each its own")
        return self


class GuestPgCluster(Model):
    """The guest layer: corosync and Pacemaker inside two protected VMs, PostgreSQL on DRBD, the VIP, and
    fencing through the hypervisors."""

    name: Identifier = Field(description="the guests' corosync.conf cluster_name, and the prefix of this layer's "
                             "Pulumi resource names")
    rings: tuple[Ring, ...] = Field(description="the guests' corosync knet links and DRBD paths (the storage "
                                    "networks bridged into them), 1 to 8, in priority order")
    token_ms: TokenMs = Field(default=3000, description="the guests' corosync.conf totem.token")
    nodes: tuple[GuestNode, ...] = Field(description="the two guests")
    properties: ClusterProperties = Field(default={"stonith-enabled": "true"}, description="Pacemaker cluster "
                                          "properties (crm_config), names Pacemaker 2.1 knows")
    resource_defaults: ResourceDefaults = Field(description="resource meta-attribute defaults (rsc_defaults)")
    failback: Failback = Field(description="the declared failback choice of this layer, which the policy pack holds "
                               "the stack to")
    alerts: tuple[Alert, ...] = Field(default=(), description="Pacemaker alerts of this layer")
    selinux_modules: tuple[SelinuxModule, ...] = Field(default=(), description="policy modules for both guests")
    ocf_helper_links: bool | None = Field(default=None, description=(
        "link each helper of /usr/lib/ocf/lib/heartbeat that /lib/heartbeat lacks, on both guests, as the seed "
        "does for ocf:heartbeat:pgsql on RHEL 9 (which sources its helpers from /lib/heartbeat): never over a "
        "file there, and delete removes only the links hastack made.  Default: derived, on unless pgctl is "
        "Debian's (under /usr/lib/postgresql/), whose agent finds its helpers where resource-agents puts them"))
    drbd: GuestDrbd = Field(default=GuestDrbd(), description="the pgdata device")
    drbd_options: DrbdOptions = Field(description="DRBD inside the guests")
    firewall: GuestFirewallOptions = Field(default_factory=GuestFirewallOptions, description="what `up` opens in "
                                           "the guests' firewall: knet links and pgdata to the peer, PostgreSQL to "
                                           "its clients")
    hosts_file: HostsFileOptions = Field(default_factory=HostsFileOptions, description="the guests' names in their "
                                         "/etc/hosts")
    fs_id: Identifier = Field(default="pgdata-fs", description="id of the Filesystem resource mounting the DRBD "
                              "device, the chain's first link")
    mountpoint: str = Field(default="/mnt/pgdata", description="where it mounts (Filesystem directory=)")
    fstype: Literal["xfs", "ext4"] = Field(default="xfs", description="Filesystem fstype=; made on a new pgdata's "
                                           "first primary only")
    pgsql_id: Identifier = Field(default="pgsql", description="id of the ocf:heartbeat:pgsql resource")
    pgctl: str = Field(default="/usr/bin/pg_ctl", description="pgsql pgctl=; initdb is the one beside it")
    pgdata: str = Field(default="/mnt/pgdata/data", description="pgsql pgdata=, under mountpoint; initdb runs there on "
                        "a new pgdata's first primary only")
    vip_id: Identifier = Field(default="pgvip", description="id of the IPaddr2 resource, the chain's last built-in "
                               "link")
    vip: IPv4 = Field(description="the address clients use (IPaddr2 ip=), on whichever guest is primary")
    vip_cidr_netmask: int = Field(default=24, ge=1, le=32, description="IPaddr2 cidr_netmask=")
    chain_extras: tuple[ChainExtra, ...] = Field(
        default=(), description="more primitives in the chain promote -> filesystem -> pgsql -> VIP, each placed by `after`")
    fencing: GuestFencing = Field(description="how a guest fences its peer")
    op_timeouts: GuestOpTimeouts = Field(default_factory=GuestOpTimeouts, description="this layer's operation timeouts")
    monitor_intervals: GuestMonitorIntervals = Field(default_factory=GuestMonitorIntervals,
                                                     description="this layer's monitor intervals")
    start_wait: Duration = Field(
        default="5min", description="how long `pulumi up` waits for each resource it enables, and each fence device, to run "
        "(it fails with the resource's failed actions otherwise); 0s: enable and go on")

    @model_validator(mode="after")
    def _consistent(self) -> "GuestPgCluster":
        """Two nodes, one address per ring inside its subnet; the survivor is a node; pgdata under mountpoint;
        the chain is one line (each extra after a link before it, no link followed by two)."""
        _check_two_nodes(self.nodes, "guest")
        _check_rings(self.rings, self.nodes, "guest")
        _check_survivor(self.fencing.tiebreaker, self.nodes, "guest.fencing")
        if not self.pgdata.startswith(self.mountpoint.rstrip("/") + "/"):
            raise ValueError(
                f"guest.pgdata {self.pgdata!r} is not under guest.mountpoint {self.mountpoint!r}: "
                "PostgreSQL's data must live on the replicated filesystem"
            )
        _check_chain(self)
        return self


_NSCA_IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_PERCENT = re.compile(r"^([0-9]{1,2})%$")
_LOAD = re.compile(r"^[0-9]+(\.[0-9]+)?,[0-9]+(\.[0-9]+)?,[0-9]+(\.[0-9]+)?$")


def _one_line(value: SecretStr) -> SecretStr:
    # The value itself is never part of the message.
    if any(ord(c) < 32 or ord(c) == 127 for c in value.get_secret_value()):
        raise ValueError("the secret has a control character (a newline?): send_nsca.cfg holds one line per setting")
    return value


OneLineSecret = Annotated[SecretStr, AfterValidator(_secret_given), AfterValidator(_one_line)]


AbsolutePath = Annotated[str, Field(pattern=r"^/[^\s]*[^/\s]$")]
Command = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]


class NagiosServer(Model):
    """The Nagios server both layers report to (the seed's nagios VM): the guests' NRPE answers it
    alone, the alert agents send to its nsca-ng, and hastack writes its object files over SSH.
    The commands default to Debian's nagios4 and nsca-ng-server packages."""

    address: IPv4 = Field(description="where the guests' NRPE accepts checks from (its only allowed_hosts entry) and "
                          "where send_nsca delivers alerts (the nsca-ng server)")
    nsca_port: Port = Field(default=5668, description="the nsca-ng server's port (send_nsca.cfg port)")
    ssh: Ssh | None = Field(default=None, description="how hastack reaches the server to write its Nagios objects "
                            "and the nsca-ng authorization (none: hastack writes nothing there; the operator does)")
    objects_dir: AbsolutePath = Field(default="/etc/nagios4/conf.d/hastack", description="a directory the server's "
                                      "nagios.cfg reads (cfg_dir) that holds one file per guest and per cluster")
    host_template: str = Field(default="linux-server", description="the Nagios host template each guest's host uses "
                               "(the seed's; Debian's nagios4 ships it)")
    service_template: str = Field(default="generic-service", description="the Nagios service template of every service")
    verify_command: Command = Field(default=("nagios4", "-v", "/etc/nagios4/nagios.cfg"), description="checks the "
                                    "server's whole configuration with hastack's files in it, before any reload "
                                    "(RHEL: [nagios, -v, /etc/nagios/nagios.cfg])")
    reload_command: Command = Field(default=("systemctl", "reload", "nagios4.service"), description="makes Nagios "
                                    "read its objects again (RHEL: [systemctl, reload, nagios.service])")
    nsca_authorize_file: AbsolutePath = Field(
        default="/etc/nsca-ng/nsca-ng.local.cfg", description="a file the server's nsca-ng.cfg includes (Debian's "
        "includes this one), written whole by hastack (mode 0640, group nagios): the `authorize` block of the "
        "agents' identity, with its password")
    nsca_authorize_owner: str = Field(default="root:nagios", pattern=r"^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$",
                                      description="owner of nsca_authorize_file: nsca-ng reads it again as its "
                                      "`user` (Debian: nagios) when it re-executes itself")
    nsca_reload_command: Command = Field(default=("systemctl", "try-restart", "nsca-ng-server.service"),
                                         description="makes nsca-ng read the authorization again")


class NscaClient(Model):
    """The NSCA-ng identity the alert agents submit as, and its password."""

    identity: Annotated[str, Field(pattern=_NSCA_IDENTITY.pattern)] = Field(
        description="send_nsca.cfg identity: the nsca-ng server's `authorize` block for it names the hosts and "
        "services it may submit for")
    password: OneLineSecret = Field(
        description="send_nsca.cfg password (secret): only ever in that file, mode 0600, owner hacluster; never on a "
        "command line or in the environment")


class CheckThresholds(Model):
    """Thresholds of the NRPE checks on the guests (the seed's checks, and check_pacemaker)."""

    disk_warning: str = Field(default="20%", description="check_disk -w on /: free space (the seed's)")
    disk_critical: str = Field(default="10%", description="check_disk -c on /: free space (the seed's)")
    swap_warning: str = Field(default="20%", description="check_swap -w: free swap (the seed's)")
    swap_critical: str = Field(default="10%", description="check_swap -c: free swap (the seed's)")
    swap_absent: Literal["ok", "warning", "critical", "unknown"] | None = Field(
        default=None, description="check_swap -n: the state of a guest without swap (none: the plugin's, CRITICAL)")
    load_warning: str = Field(default="1.0,0.9,0.8", description="check_load -r -w: 1, 5 and 15 min load per CPU (the "
                              "packages' .15,.10,.05 is critical on any busy host)")
    load_critical: str = Field(default="2.0,1.8,1.6", description="check_load -r -c: 1, 5 and 15 min load per CPU")
    users_warning: int = Field(default=5, ge=1, description="check_users -w (the package default)")
    users_critical: int = Field(default=10, ge=1, description="check_users -c")
    failed_actions_warning: int = Field(default=1, ge=1, description="check_pacemaker -w: this many failed actions "
                                        "make the check WARNING")
    failed_actions_critical: int | None = Field(default=None, ge=1, description="check_pacemaker -c: this many make "
                                                "it CRITICAL (none: failed actions alone never do)")

    @model_validator(mode="after")
    def _ordered(self) -> "CheckThresholds":
        """Free-space warnings above their criticals; load and users warnings at or below their criticals."""
        for name in ("disk", "swap"):
            warning, critical = getattr(self, f"{name}_warning"), getattr(self, f"{name}_critical")
            for which, value in ((f"{name}_warning", warning), (f"{name}_critical", critical)):
                if not _PERCENT.match(value):
                    raise ValueError(f"thresholds.{which} {value!r} is not a percentage of free space: write e.g. 20%")
            if int(warning[:-1]) <= int(critical[:-1]):
                raise ValueError(f"thresholds.{name}_warning {warning} is not above {name}_critical {critical}: both "
                                 "are free space, so the warning must come first (more free)")
        loads = []
        for which in ("load_warning", "load_critical"):
            value = getattr(self, which)
            if not _LOAD.match(value):
                raise ValueError(f"thresholds.{which} {value!r} is not three loads per CPU: write e.g. 1.0,0.9,0.8")
            loads.append([float(x) for x in value.split(",")])
        if any(w > c for w, c in zip(*loads)):
            raise ValueError(f"thresholds.load_warning {self.load_warning} exceeds load_critical {self.load_critical}: "
                             "each warning load must be at most its critical one")
        if self.users_warning > self.users_critical:
            raise ValueError(f"thresholds.users_warning {self.users_warning} exceeds users_critical {self.users_critical}")
        if self.failed_actions_critical is not None and self.failed_actions_critical < self.failed_actions_warning:
            raise ValueError(f"thresholds.failed_actions_critical {self.failed_actions_critical} is below "
                             f"failed_actions_warning {self.failed_actions_warning}")
        return self


class Monitoring(Model):
    """Monitoring at both layers, as the seed runs it: Pacemaker alerts into Nagios through NSCA-ng, NRPE with
    check_pacemaker on the guests, the guests registered with Nagios (components/monitoring.py)."""

    enabled: bool = Field(default=True, description="false: the stack builds nothing of this block, exactly as "
                          "without it (the block stays validated)")
    nagios: NagiosServer = Field(description="the Nagios server")
    nsca: NscaClient = Field(description="the alert agents' NSCA-ng identity and password")
    alert_layers: tuple[Literal["hypervisor", "guest"], ...] = Field(
        default=("hypervisor", "guest"), description="the layers whose Pacemaker alerts feed Nagios: each gets the "
        "agent and the seed's alert nsca-alert (recipient nsca-recipient, value nagios) unless its alerts already "
        "run the agent")
    feed_service: str = Field(default="Pacemaker events", min_length=1, max_length=64,
                              pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
                              description="the passive Nagios service of each cluster's host that every alert "
                              "of that cluster becomes a result of")
    nrpe_user: Identifier = Field(default="nagios", description="the user NRPE runs as on the guests (Debian: "
                                  "nagios, RHEL: nrpe): its sudo rule allows exactly one crm_mon command line")
    plugin_dir: str = Field(default="/usr/lib/nagios/plugins", description="the guests' monitoring plugins (Debian; "
                            "RHEL: /usr/lib64/nagios/plugins)")
    nrpe_unit: str = Field(default="nagios-nrpe-server.service", pattern=r"^[A-Za-z0-9@._-]+\.service$",
                           description="the guests' NRPE unit, started on hastack's NRPE config by a drop-in "
                           "(RHEL: nrpe.service)")
    nrpe_binary: AbsolutePath = Field(default="/usr/sbin/nrpe", description="the guests' NRPE daemon")
    thresholds: CheckThresholds = Field(default_factory=CheckThresholds, description="the NRPE checks' thresholds")

    @model_validator(mode="after")
    def _layers_once(self) -> "Monitoring":
        """Each layer is named at most once in alert_layers."""
        _unique(list(self.alert_layers), "monitoring.alert_layers", "name each layer once")
        return self


class Drills(Model):
    """`python -m hastack drill`: failures injected into the live stack.  Destructive, so off
    unless the stack says so (the lab stack does; a production stack should not)."""

    allowed: bool = Field(default=False, description="let `python -m hastack drill` fail this stack's hosts for real "
                          "(power off, cut links, kill VMs)")
    recover_limit: Duration = Field(default="15min", description="how long a drill waits for both layers "
                                    "to be back at full redundancy before it reports the scenario as not recovered")
    client_on: Identifier | None = Field(
        default=None, description="where the drill's client (an INSERT through the VIP and a ping of each host, "
        "once a second) runs: a node of the stack by name, or `lab` for the local lab's network namespace on "
        "this machine; default: the hypervisor the failure does not touch.  On emulated hosts the client's own "
        "load on that survivor slowed its takeover and spaced its samples 8-12 s apart")


class StackConfig(Model):
    """A stack file's `hastack:*` keys: `hastack:hypervisor`, `hastack:vms`, `hastack:guest`, `hastack:drills`, `hastack:monitoring`."""

    hypervisor: HypervisorCluster = Field(description="the hypervisor layer")
    vms: tuple[ProtectedVm, ...] = Field(description="the protected VMs")
    guest: GuestPgCluster | None = Field(default=None, description="the guest layer; left out, none is built")
    drills: Drills = Field(default=Drills(), description="whether and how `python -m hastack drill` may run")
    monitoring: Monitoring | None = Field(default=None, description="Nagios, NRPE and the alert feed; left out "
                                          "(or enabled: false), none is built")

    @model_validator(mode="after")
    def _cross_checks(self) -> "StackConfig":
        """Across both layers: names, minors and ports used once; ports inside port_range; preferred nodes and
        guest VMs that exist; failback prevented only with stickiness above every location score; the guests'
        fence path names every hypervisor; the guests' database clients given or derivable (their VMs' addresses hold
        their mgmt_address); no address held by two machines; monitoring alerts only from layers that exist (no alert
        of theirs taking hastack's nsca-alert id for another agent), to a Nagios server that is no node of either layer
        and not the VIP; Nagios host names (guests, clusters) unique."""
        hv = self.hypervisor
        node_names = [n.name for n in hv.nodes]
        stack_nodes = node_names + [n.name for n in self.guest.nodes] if self.guest else node_names
        if self.drills.client_on not in (None, "lab", *stack_nodes):
            raise ValueError(f"drills.client_on {self.drills.client_on!r} is neither `lab` nor a node of the stack; "
                             f"use `lab` (the local lab's namespace) or one of {stack_nodes}")
        _unique([v.name for v in self.vms], "vms[].name", "each VM needs its own name")
        _unique([v.drbd_minor for v in self.vms], "vms[].drbd_minor", "give each VM its own minor")
        ports = [p for v in self.vms for p in v.drbd_ports[: _paths(hv.drbd.dialect)]]
        _unique(ports, "vms[].drbd_ports", "allocate each VM its own port pair")
        low, high = hv.drbd.port_range
        for i, vm in enumerate(self.vms):
            if vm.preferred_node not in node_names:
                raise ValueError(
                    f"vms[{i}].preferred_node {vm.preferred_node!r} is not a hypervisor node; "
                    f"use one of {node_names}"
                )
            for port in vm.drbd_ports:
                if not low <= port <= high:
                    raise ValueError(
                        f"vms[{i}].drbd_ports has {port}, outside hypervisor.drbd.port_range "
                        f"{low}-{high}, the ports this site keeps for DRBD: pick a free pair inside it, or widen "
                        "the range"
                    )
            if vm.drbd_ports[0] == vm.drbd_ports[1] and hv.drbd.dialect == DrbdDialect.V9:
                raise ValueError(
                    f"vms[{i}].drbd_ports uses {vm.drbd_ports[0]} for both paths; give each path its own"
                )
            if (vm.boot.kernel is None) != (vm.boot.initrd is None):
                raise ValueError(f"vms[{i}].boot needs both kernel and initrd, or neither")
        if hv.failback == Failback.PREVENTED:
            stickiness = hv.resource_defaults.get("resource-stickiness", "0")
            worst = max((v.location_score for v in self.vms), default=0)
            if score(stickiness) <= worst:
                raise ValueError(
                    f"hypervisor.failback is 'prevented' but resource-stickiness={stickiness} does not "
                    f"exceed the location preference {worst}: set resource-stickiness to {worst + 1} "
                    "or more, or declare failback: allowed"
                )
        if self.guest is not None:
            vm_names = [v.name for v in self.vms]
            for i, node in enumerate(self.guest.nodes):
                if node.vm not in vm_names:
                    raise ValueError(
                        f"guest.nodes[{i}].vm {node.vm!r} is not a protected VM; use one of {vm_names}"
                    )
            if len({n.vm for n in self.guest.nodes}) != len(self.guest.nodes):
                raise ValueError("guest.nodes[].vm: both guests run in the same VM; one VM each")
            owner = {a: n.name for n in hv.nodes for a in (n.mgmt_address, n.vm_bridge_address) if a}
            hv_addresses = {str(a) for a in owner}
            named: dict = {}
            for address in self.guest.fencing.hypervisor_addresses:
                if str(address) not in hv_addresses:
                    raise ValueError(
                        f"guest.fencing.hypervisor_addresses has {address}, which is no hypervisor's "
                        f"address ({sorted(hv_addresses)}): the fence agent would miss a hypervisor"
                    )
                if owner[address] in named:
                    missing = [n.name for n in hv.nodes if n.name not in named and n.name != owner[address]]
                    twice = (f"{address} twice" if address == named[owner[address]]
                             else f"{named[owner[address]]} and {address}, both hypervisor {owner[address]}'s,")
                    raise ValueError(
                        f"guest.fencing.hypervisor_addresses has {twice} and none of {', '.join(missing)}'s: the "
                        "agent would miss a hypervisor; give one address of each hypervisor"
                    )
                named[owner[address]] = address
            if len(self.guest.fencing.hypervisor_addresses) != len(hv.nodes):
                raise ValueError(
                    "guest.fencing.hypervisor_addresses must name every hypervisor: a VM can run on "
                    "either, and the agent may only report 'absent' once it knows of each of them"
                )
            pinned = self.guest.fencing.hypervisor_host_keys
            for address in pinned:
                if address not in self.guest.fencing.hypervisor_addresses:
                    raise ValueError(
                        f"guest.fencing.hypervisor_host_keys has keys for {address}, which is not in "
                        f"guest.fencing.hypervisor_addresses ({[str(a) for a in self.guest.fencing.hypervisor_addresses]}): "
                        "key each hypervisor's keys by the address the guests use for it"
                    )
        _check_addresses(self)
        _check_host_addresses(self)
        _check_layer_rings(self)
        _check_monitor_intervals(self)
        _check_monitoring(self)
        if self.guest is not None and self.database_clients() is None:
            raise ValueError(
                "guest.firewall.database_clients is not given, and the guests' management network cannot be derived "
                f"(it is the network of each guest's VM address, and {_underived_guest(self)}): list the networks "
                "PostgreSQL's clients connect from, e.g. database_clients: [10.0.5.0/24] ([] for none)")
        _check_cloud_init(self)
        return self

    def vm(self, name: str) -> ProtectedVm:
        return next(v for v in self.vms if v.name == name)

    def monitoring_on(self) -> Monitoring | None:
        """hastack:monitoring when it is there and enabled: what the components build from."""
        return self.monitoring if self.monitoring is not None and self.monitoring.enabled else None

    def database_clients(self) -> tuple[ipaddress.IPv4Network, ...] | None:
        """The sources the guests open PostgreSQL's port to: guest.firewall.database_clients, or else the guests'
        management network (the networks of their VMs' addresses, when each holds its guest's mgmt_address);
        None when neither is given (and for a stack without a guest layer)."""
        if self.guest is None:
            return None
        if self.guest.firewall.database_clients is not None:
            return self.guest.firewall.database_clients
        if _underived_guest(self):
            return None
        return tuple(ipaddress.collapse_addresses(self.vm(n.vm).address.network for n in self.guest.nodes))

    def preferred_pacemaker_node(self, vm: ProtectedVm) -> str:
        return self.hypervisor.node(vm.preferred_node).pacemaker_name


def _underived_guest(config: "StackConfig") -> str:
    """Why the guests' management network cannot be derived from their VMs' addresses ("" when it can)."""
    for i, node in enumerate(config.guest.nodes):
        vms = [v for v in config.vms if v.name == node.vm]
        if not vms:
            return f"guest.nodes[{i}].vm {node.vm!r} is no VM"
        if vms[0].address is None:
            return f"VM {node.vm} (guest {node.name}) has no address"
        if vms[0].address.ip != node.mgmt_address:
            return (f"VM {node.vm}'s address {vms[0].address} is not guest {node.name}'s mgmt_address "
                    f"{node.mgmt_address}")
    return ""


def _paths(dialect: DrbdDialect) -> int:
    return 2 if dialect == DrbdDialect.V9 else 1


def _unique(values: list, field: str, fix: str) -> None:
    seen: set = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field}: {value!r} is used twice; {fix}")
        seen.add(value)


def _check_chain(guest: "GuestPgCluster") -> None:
    """The chain is one line: each extra after a link before it, no link followed by two."""
    _unique([guest.fs_id, guest.pgsql_id, guest.vip_id], "guest.fs_id, guest.pgsql_id, guest.vip_id",
            "give each link of the chain its own id")
    links, followed = [guest.fs_id, guest.pgsql_id, guest.vip_id], {}
    for i, extra in enumerate(guest.chain_extras):
        where = f"guest.chain_extras[{i}]"
        if extra.id in links:
            raise ValueError(f"{where}.id {extra.id!r} is already a link of the guest chain {links}: give it its own id")
        if extra.after not in links:
            raise ValueError(f"{where}.after {extra.after!r} is not a link of the chain before it: use one of {links}")
        if extra.after in followed:
            raise ValueError(f"{where}.after {extra.after!r}: {followed[extra.after]} already starts right after "
                             f"{extra.after} and the chain is one line: write after: {followed[extra.after]}")
        followed[extra.after] = extra.id
        links.append(extra.id)


def _check_two_nodes(nodes, layer: str) -> None:
    if len(nodes) != 2:
        raise ValueError(f"{layer}.nodes has {len(nodes)} nodes; hastack builds two-node clusters")
    _unique([n.name for n in nodes], f"{layer}.nodes[].name", "name each node once")
    _unique([n.fqdn for n in nodes], f"{layer}.nodes[].fqdn", "give each node its own host's `uname -n`")


def _check_rings(rings, nodes, layer: str) -> None:
    if not 1 <= len(rings) <= 8:
        raise ValueError(f"{layer}.rings: knet takes 1 to 8 links, got {len(rings)}")
    _unique([r.name for r in rings], f"{layer}.rings[].name", "name each ring once")
    for i, ring in enumerate(rings):
        for j in range(i):
            if rings[j].subnet.overlaps(ring.subnet):
                raise ValueError(
                    f"{layer}.rings[{i}].subnet {ring.subnet} overlaps {layer}.rings[{j}].subnet {rings[j].subnet} "
                    f"({ring.name!r} and {rings[j].name!r}): two links on one network fail together, so corosync "
                    "and DRBD lose the redundancy they count on; give each ring its own subnet"
                )
    for i, node in enumerate(nodes):
        if len(node.ring_addresses) != len(rings):
            raise ValueError(
                f"{layer}.nodes[{i}].ring_addresses has {len(node.ring_addresses)} addresses for "
                f"{len(rings)} rings; give one address per ring"
            )
        for ring, address in zip(rings, node.ring_addresses):
            if address not in ring.subnet:
                raise ValueError(
                    f"{layer}.nodes[{i}].ring_addresses: {address} is outside ring {ring.name!r} "
                    f"({ring.subnet}); use an address in that subnet"
                )
            _check_host_address(address, ring.subnet, f"{layer}.nodes[{i}].ring_addresses", f"ring {ring.name!r}")
    for ring_index in range(len(rings)):
        _unique(
            [n.ring_addresses[ring_index] for n in nodes],
            f"{layer}.nodes[].ring_addresses[{ring_index}]",
            "each node needs its own ring address",
        )


def _address_holders(config: "StackConfig") -> list[tuple[ipaddress.IPv4Address, str, str, str | None]]:
    """(address, field, holder, hypervisor node) of every address the config gives a machine, across
    both layers.  The holder is the machine that answers for it: a hypervisor, its BMC, a VM (its
    guest node is the same machine) or the guest VIP; a hypervisor and its BMC share the node."""
    out = []
    for i, node in enumerate(config.hypervisor.nodes):
        where, holder = f"hypervisor.nodes[{i}]", f"hypervisor {node.name}"
        out.append((node.mgmt_address, f"{where}.mgmt_address", holder, node.name))
        out += [(a, f"{where}.ring_addresses[{j}]", holder, node.name) for j, a in enumerate(node.ring_addresses)]
        if node.vm_bridge_address:
            out.append((node.vm_bridge_address, f"{where}.vm_bridge_address", holder, node.name))
        if node.bmc:
            out.append((node.bmc.address, f"{where}.bmc.address", f"{node.name}'s BMC", node.name))
    for i, vm in enumerate(config.vms):
        if vm.address:
            out.append((vm.address.ip, f"vms[{i}].address", f"VM {vm.name}", None))
        out += [(a, f"vms[{i}].storage_addresses[{j}]", f"VM {vm.name}", None)
                for j, a in enumerate(vm.storage_addresses)]
    if config.guest:
        for i, node in enumerate(config.guest.nodes):
            where, holder = f"guest.nodes[{i}]", f"VM {node.vm}"
            out.append((node.mgmt_address, f"{where}.mgmt_address", holder, None))
            out += [(a, f"{where}.ring_addresses[{j}]", holder, None) for j, a in enumerate(node.ring_addresses)]
        out.append((config.guest.vip, "guest.vip", VIP, None))
    return out


VIP = "the guest VIP"


def _check_addresses(config: "StackConfig") -> None:
    """No address is held by two machines, in either layer (a machine may repeat its own, as the
    lab's hypervisors do with mgmt_address and vm_bridge_address)."""
    first: dict = {}
    for address, where, holder, node in _address_holders(config):
        if address not in first:
            first[address] = (where, holder, node)
            continue
        seen_where, seen_holder, seen_node = first[address]
        if seen_holder == holder:
            continue
        if node is not None and node == seen_node:
            bmc_where, other_where = (where, seen_where) if where.endswith(".bmc.address") else (seen_where, where)
            raise ValueError(
                f"{bmc_where} {address} is its own node's address ({other_where}): a node that dies takes its fence "
                "device with it, so it could never be confirmed dead; give the BMC its own address (the "
                "out-of-band controller's)"
            )
        if VIP in (holder, seen_holder):
            other_where, other = (seen_where, seen_holder) if holder == VIP else (where, holder)
            raise ValueError(
                f"guest.vip {address} is also {other_where} ({other}): the VIP moves to whichever guest is primary, "
                f"so clients would reach {other} or the primary at random; give the VIP an address no machine holds"
            )
        raise ValueError(
            f"{where} {address} is also {seen_where} ({seen_holder}): {holder} and {seen_holder} would answer "
            "for one address (ARP flips between them; SSH, corosync and DRBD reach the wrong machine); give each "
            "its own address"
        )


def ring_network(rings, address: ipaddress.IPv4Address) -> ipaddress.IPv4Network | None:
    """The subnet of the ring that holds ADDRESS (a VM's storage address): its NIC's prefix."""
    return next((r.subnet for r in rings if address in r.subnet), None)


def _check_cloud_init(config: "StackConfig") -> None:
    """A VM with cloud_init: an image, a disk boot, a static address on every NIC (its address, then one storage
    address per further network, each in a hypervisor ring), its gateway in its network, and its preferred
    hypervisor on that network (the first boot's SSH is awaited from there)."""
    hv = config.hypervisor
    for i, vm in enumerate(config.vms):
        if vm.cloud_init is None:
            continue
        where = f"vms[{i}] ({vm.name})"
        if not vm.image:
            raise ValueError(f"{where}.cloud_init needs {where}.image: the cloud image (qcow2) its first boot starts "
                             "from; give its path on the hypervisors")
        if vm.boot.kernel:
            raise ValueError(f"{where}.boot.kernel {vm.boot.kernel!r} with cloud_init: a cloud image boots from its "
                             "own disk; drop boot.kernel or cloud_init")
        if vm.address is None:
            raise ValueError(f"{where}.cloud_init needs {where}.address: the static address of its first NIC, where "
                             "its first boot's SSH is awaited")
        if len(vm.networks) != 1 + len(vm.storage_addresses):
            raise ValueError(
                f"{where}.networks has {len(vm.networks)} NICs for 1 address + {len(vm.storage_addresses)} "
                f"storage_addresses: cloud_init gives every NIC a static address (networks[0] gets address, each "
                "further one the next storage address); give one address per NIC")
        for j, address in enumerate(vm.storage_addresses):
            if ring_network(hv.rings, address) is None:
                raise ValueError(
                    f"{where}.storage_addresses[{j}] {address} is in no hypervisor ring "
                    f"({', '.join(str(r.subnet) for r in hv.rings)}): cloud_init takes each storage NIC's prefix from "
                    "its ring; give an address in a ring's subnet")
        gateway = vm.cloud_init.gateway
        if gateway is not None and gateway not in vm.address.network:
            raise ValueError(f"{where}.cloud_init.gateway {gateway} is outside {where}.address's network "
                             f"{vm.address.network}: the first NIC could not reach it; give a router of that network")
        node = hv.node(vm.preferred_node)
        if node.vm_bridge_address is None or node.vm_bridge_address not in vm.address.network:
            raise ValueError(
                f"{where}.cloud_init: hypervisor {node.name}'s vm_bridge_address ({node.vm_bridge_address}) is not in "
                f"{vm.address.network}, the VM's network: the first boot's SSH is awaited from {node.name} (the "
                "preferred node); give it its address on the VMs' bridge")


def _check_host_address(address: ipaddress.IPv4Address, network: ipaddress.IPv4Network, where: str, what: str) -> None:
    if network.prefixlen <= 30 and address in (network.network_address, network.broadcast_address):
        kind = "network" if address == network.network_address else "broadcast"
        raise ValueError(
            f"{where}: {address} is the {kind} address of {what} ({network}), which no host can hold; use a host "
            f"address, {network.network_address + 1} to {network.broadcast_address - 1}"
        )


def _check_host_addresses(config: "StackConfig") -> None:
    """An address given with its prefix is a host's, not its network's or broadcast."""
    for i, vm in enumerate(config.vms):
        if vm.address:
            _check_host_address(vm.address.ip, vm.address.network, f"vms[{i}].address", "its network")
    if config.guest:
        vip = ipaddress.IPv4Interface(f"{config.guest.vip}/{config.guest.vip_cidr_netmask}")
        _check_host_address(vip.ip, vip.network, "guest.vip", "guest.vip_cidr_netmask's network")


def _check_layer_rings(config: "StackConfig") -> None:
    """A guest ring shares a hypervisor ring's network (the same subnet) or has its own: hosts on
    one network with different netmasks disagree about which peers are on-link."""
    if not config.guest:
        return
    for i, ring in enumerate(config.guest.rings):
        for j, hv_ring in enumerate(config.hypervisor.rings):
            if ring.subnet.overlaps(hv_ring.subnet) and ring.subnet != hv_ring.subnet:
                raise ValueError(
                    f"guest.rings[{i}].subnet {ring.subnet} overlaps hypervisor.rings[{j}].subnet {hv_ring.subnet} "
                    f"({hv_ring.name!r}) without being it: a guest ring on that network takes its subnet, "
                    f"{hv_ring.subnet}; on a network of its own, give it a subnet that overlaps no hypervisor ring"
                )


def _check_monitor_intervals(config: "StackConfig") -> None:
    """A monitor with interval 0 is never run: Pacemaker would not notice its resource failed."""
    intervals = [(f"hypervisor.monitor_intervals.{k}", v) for k, v in config.hypervisor.monitor_intervals]
    intervals.append(("hypervisor.fence_monitor_interval", config.hypervisor.fence_monitor_interval))
    if config.guest:
        intervals += [(f"guest.monitor_intervals.{k}", v) for k, v in config.guest.monitor_intervals]
        intervals.append(("guest.fencing.monitor_interval", config.guest.fencing.monitor_interval))
    for where, value in intervals:
        if duration_ms(value) == 0:
            raise ValueError(
                f"{where} is {value}: a monitor with interval 0 never runs, so Pacemaker would not notice its "
                "resource fail (a fence device's: that it can no longer fence); give it an interval, e.g. 30s"
            )


def _check_monitoring(config: "StackConfig") -> None:
    """The alert layers exist and hold no other alert of hastack's alert id, the Nagios host names are unique,
    and the Nagios server is no node of either layer and not the VIP."""
    monitoring = config.monitoring
    if monitoring is None:
        return
    if "guest" in monitoring.alert_layers and config.guest is None:
        raise ValueError("monitoring.alert_layers names guest, but the stack has no guest layer: drop it, or add "
                         "hastack:guest")
    # One Nagios host per guest node and per alerting cluster: Nagios refuses a name defined twice.
    layers = {"hypervisor": config.hypervisor, "guest": config.guest}
    from hastack.render.alert_agent import AGENT_PATH, ALERT_ID  # the alert hastack registers (a renderer's)

    for layer in monitoring.alert_layers:
        for alert in layers[layer].alerts:
            if alert.id == ALERT_ID and alert.path != AGENT_PATH:
                raise ValueError(
                    f"{layer}.alerts has {ALERT_ID} with path {alert.path}, but monitoring.alert_layers names {layer}, "
                    f"so hastack registers {ALERT_ID} running its agent {AGENT_PATH}: give your alert another id, or "
                    f"its path {AGENT_PATH} (or leave it out: hastack adds it)")
    _unique(([n.name for n in config.guest.nodes] if config.guest else [])
            + [layers[layer].name for layer in monitoring.alert_layers],
            "Nagios host names (guest node names and alerting cluster names)",
            "give the clusters names no guest node has, and each cluster its own")
    address = monitoring.nagios.address
    for held, where, holder, _node in _address_holders(config):
        if held == address and not holder.startswith("VM "):
            raise ValueError(
                f"monitoring.nagios.address {address} is also {where} ({holder}): the Nagios server watches the "
                "clusters from outside, so it cannot be one of their nodes or the VIP (a VM of the stack may be it)")
        if held == address and config.guest and holder in {f"VM {n.vm}" for n in config.guest.nodes}:
            raise ValueError(
                f"monitoring.nagios.address {address} is also {where} ({holder}), a guest node: the Nagios server "
                "watches the clusters from outside; give it its own VM (the seed's nagios VM)")


def _check_survivor(tiebreaker: Tiebreaker, nodes, where: str) -> None:
    names = [n.name for n in nodes]
    if tiebreaker.survivor not in names:
        raise ValueError(
            f"{where}.tiebreaker.survivor {tiebreaker.survivor!r} is not a node; use one of {names}"
        )
