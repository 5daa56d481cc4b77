"""Every name and Pacemaker object the stack defines, derived from StackConfig by pure functions.

Components turn these into resources; the policy pack and `simulate` read the same objects, so
a name or a constraint exists in exactly one place.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Callable

from hastack.config.models import (
    Alert,
    DrbdDialect,
    DrbdMonitorIntervals,
    DrbdOptions,
    GuestPgCluster,
    HypervisorCluster,
    Monitoring,
    ProtectedVm,
    StackConfig,
    Tiebreaker,
)
from hastack.pacemaker.alert import AlertSpec
from hastack.pacemaker.constraint import ColocationSpec, LocationSpec, OrderSpec, colocation, location_id, order
from hastack.pacemaker.primitive import Op, PrimitiveSpec, Promotable, clone_id
from hastack.render.alert_agent import AGENT_PATH, ALERT_ID, RECIPIENT
from hastack.render.libvirt import domain_xml_path
from hastack.render.selinux import SELINUX_ON


# ---- names ------------------------------------------------------------------------------------
def drbd_primitive_id(resource: str) -> str:
    return f"drbd-{resource}"


def drbd_clone_id(resource: str) -> str:
    return clone_id(drbd_primitive_id(resource))


def vm_resource_id(vm: str) -> str:
    return f"{vm}-vm"


def lv_name(vm: str) -> str:
    return f"lv-{vm}"


def fence_device_id(node: str) -> str:
    return f"fence-{node}"


def drbd_device(minor: int) -> str:
    return f"/dev/drbd{minor}"


# ---- hypervisor layer -------------------------------------------------------------------------
def alert_specs(alerts: tuple[Alert, ...], monitoring: Monitoring | None = None, layer: str = "") -> tuple[AlertSpec, ...]:
    """The layer's alerts: those it declares, and the seed's nsca-alert running hastack's agent when
    the layer alerts (monitoring.alert_layers) and declares no alert running it."""
    specs = [AlertSpec(id=a.id, path=a.path, recipients=a.recipients) for a in alerts]
    if monitoring and layer in monitoring.alert_layers and not any(s.path == AGENT_PATH for s in specs):
        specs.append(AlertSpec(id=ALERT_ID, path=AGENT_PATH, recipients=(RECIPIENT,)))
    return tuple(specs)


def drbd_clone_spec(resource: str, ignore_missing_notifications: bool, monitor_timeout: str | None = None,
                    intervals: DrbdMonitorIntervals | None = None) -> PrimitiveSpec:
    intervals = intervals or DrbdMonitorIntervals()
    params = {"drbd_resource": resource}
    if ignore_missing_notifications:
        params["ignore_missing_notifications"] = "true"
    return PrimitiveSpec(
        id=drbd_primitive_id(resource),
        agent="ocf:linbit:drbd",
        params=params,
        ops=(Op(name="monitor", interval=intervals.drbd_promoted, role="Promoted", timeout=monitor_timeout),
             Op(name="monitor", interval=intervals.drbd_unpromoted, role="Unpromoted", timeout=monitor_timeout)),
        promotable=Promotable(),
    )


def tiebreaker_params(tiebreaker: Tiebreaker, fenced_node: str) -> dict[str, str]:
    """The survivor's own device waits; so in a partition the survivor shoots first."""
    if fenced_node != tiebreaker.survivor:
        return {}
    return {"pcmk_delay_base": tiebreaker.delay_base, "pcmk_delay_max": tiebreaker.delay_max}


def fence_status_timeout(timeout: str | None) -> dict[str, str]:
    """The fencer times a device's status (its start, its monitor) by pcmk_monitor_timeout, 60 s
    unless set, not by the operation's timeout: a configured fence timeout must set both."""
    return {} if timeout is None else {"pcmk_monitor_timeout": timeout}


def _fence_ops(interval: str, timeout: str | None) -> tuple[Op, ...]:
    if timeout is None:
        return (Op(name="monitor", interval=interval),)
    return (Op(name="start", interval="0s", timeout=timeout), Op(name="monitor", interval=interval, timeout=timeout))


def hypervisor_fence_specs(hv: HypervisorCluster) -> list[tuple[PrimitiveSpec, str, dict[str, str]]]:
    """(spec, Pacemaker name of the node it fences, secret values) per node."""
    out = []
    for node in hv.nodes:
        assert node.bmc is not None
        params = {"ip": str(node.bmc.address), "username": node.bmc.username, "password": "",
                  "pcmk_host_list": node.pacemaker_name, **tiebreaker_params(hv.tiebreaker, node.name),
                  **fence_status_timeout(hv.op_timeouts.fence)}
        if node.bmc.lanplus:
            params["lanplus"] = "1"
        if node.bmc.port != 623:
            params["ipport"] = str(node.bmc.port)
        if node.bmc.cipher is not None:
            params["cipher"] = str(node.bmc.cipher)
        spec = PrimitiveSpec(id=fence_device_id(node.name), agent=f"stonith:{hv.fence_agent}", params=params,
                             secret_params=("password",),
                             ops=_fence_ops(hv.fence_monitor_interval, hv.op_timeouts.fence))
        out.append((spec, node.pacemaker_name, {"password": node.bmc.password.get_secret_value()}))
    return out


@dataclass(frozen=True)
class VmObjects:
    drbd_clone: PrimitiveSpec
    domain: PrimitiveSpec
    order: OrderSpec
    colocation: ColocationSpec
    location: LocationSpec


def vm_objects(vm: ProtectedVm, hv: HypervisorCluster) -> VmObjects:
    timeouts, intervals = hv.op_timeouts, hv.monitor_intervals
    preferred = hv.node(vm.preferred_node).pacemaker_name
    rid = vm_resource_id(vm.name)
    clone = drbd_clone_id(vm.name)
    domain = PrimitiveSpec(
        id=rid,
        agent="VirtualDomain",
        params={"hypervisor": "qemu:///system", "config": domain_xml_path(vm.name),
                "migration_transport": "ssh", **({"force_stop": "true"} if vm.force_stop else {})},
        ops=(Op(name="start", timeout=timeouts.vm_start), Op(name="stop", timeout=timeouts.vm_stop),
             Op(name="monitor", interval=intervals.vm, timeout=timeouts.vm_monitor)),
        disabled=True,  # enabled by PcsResourceEnable once its constraints exist
    )
    return VmObjects(
        drbd_clone=drbd_clone_spec(vm.name, ignore_missing_notifications=True, monitor_timeout=timeouts.drbd_monitor,
                                   intervals=intervals),
        domain=domain,
        order=order(clone, rid, first_action="promote"),
        colocation=colocation(rid, clone, with_role="Promoted"),
        location=LocationSpec(id=location_id(rid, "prefers", vm.preferred_node), resource=rid, node=preferred,
                              score=str(vm.location_score)),
    )


def drbd_hosts(nodes) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each side of a layer's DRBD resource: (its on-section name, its address on each ring)."""
    return tuple((n.fqdn, tuple(str(a) for a in n.ring_addresses)) for n in nodes)


def vm_drbd_hosts(hv: HypervisorCluster) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return drbd_hosts(hv.nodes)


def drbd_path_count(options: DrbdOptions, rings: int) -> int:
    """Connection paths of a DRBD resource: one per ring (DRBD 9), the first ring's only (8.4)."""
    return rings if options.dialect == DrbdDialect.V9 else 1


def vm_drbd_ports(vm: ProtectedVm, options: DrbdOptions, rings: int) -> tuple[int, ...]:
    return tuple(vm.drbd_ports[: drbd_path_count(options, rings)])


# ---- guest layer --------------------------------------------------------------------------------
def guest_drbd_ports(guest: GuestPgCluster) -> tuple[int, ...]:
    """The pgdata resource's port on each of its paths (one port for all of them)."""
    return (guest.drbd.port,) * drbd_path_count(guest.drbd_options, len(guest.rings))


@dataclass(frozen=True)
class ChainLink:
    """One built-in primitive of the guest chain, made from the guest config.  Each link of the
    chain starts after the one before it (the first: after the DRBD promotion) and runs beside it."""

    name: str
    agent: str
    id: Callable[[GuestPgCluster], str]
    params: Callable[[GuestPgCluster], dict[str, str]]
    monitor: Callable[[GuestPgCluster], Op]


GUEST_CHAIN = (
    ChainLink("filesystem", "Filesystem", lambda g: g.fs_id,
              lambda g: {"device": drbd_device(g.drbd.minor), "directory": g.mountpoint, "fstype": g.fstype},
              lambda g: Op(name="monitor", interval=g.monitor_intervals.filesystem, timeout=g.op_timeouts.resource_monitor)),
    ChainLink("pgsql", "ocf:heartbeat:pgsql", lambda g: g.pgsql_id,
              lambda g: {"pgctl": g.pgctl, "pgdata": g.pgdata},
              lambda g: Op(name="monitor", interval=g.monitor_intervals.pgsql, timeout=g.op_timeouts.resource_monitor or "60s")),
    ChainLink("vip", "IPaddr2", lambda g: g.vip_id,
              lambda g: {"ip": str(g.vip), "cidr_netmask": str(g.vip_cidr_netmask)},
              lambda g: Op(name="monitor", interval=g.monitor_intervals.vip, timeout=g.op_timeouts.resource_monitor)),
)


def guest_chain(guest: GuestPgCluster) -> tuple[PrimitiveSpec, ...]:
    """The chain in start order: GUEST_CHAIN, each of the config's `chain_extras` right after the
    link it names.  Every link is created disabled and enabled once the chain's constraints exist."""
    timeouts = guest.op_timeouts
    starts_stops = tuple(Op(name=name, timeout=timeout) for name, timeout in
                         (("start", timeouts.resource_start), ("stop", timeouts.resource_stop)) if timeout)
    chain = [PrimitiveSpec(id=link.id(guest), agent=link.agent, params=link.params(guest),
                           ops=(link.monitor(guest), *starts_stops), disabled=True) for link in GUEST_CHAIN]
    for extra in guest.chain_extras:
        after = next(i for i, spec in enumerate(chain) if spec.id == extra.after)
        chain.insert(after + 1, PrimitiveSpec(
            id=extra.id, agent=extra.agent, params=extra.params, meta=extra.meta, disabled=True,
            ops=tuple(Op(name=op.name, interval=op.interval, timeout=op.timeout) for op in extra.ops)))
    return tuple(chain)


@dataclass(frozen=True)
class GuestObjects:
    drbd_clone: PrimitiveSpec
    chain: tuple[PrimitiveSpec, ...]  # in start order
    orders: tuple[OrderSpec, ...]
    colocations: tuple[ColocationSpec, ...]
    # GUEST_CHAIN's links by name (also in `chain`)
    filesystem: PrimitiveSpec
    pgsql: PrimitiveSpec
    vip: PrimitiveSpec


def guest_objects(guest: GuestPgCluster) -> GuestObjects:
    clone = drbd_clone_spec(guest.drbd.resource, ignore_missing_notifications=False,
                            monitor_timeout=guest.op_timeouts.drbd_monitor, intervals=guest.monitor_intervals)
    chain = guest_chain(guest)
    before = [(clone.top_id, "promote", "Promoted")] + [(spec.id, "start", None) for spec in chain]
    by_id = {spec.id: spec for spec in chain}
    return GuestObjects(
        drbd_clone=clone, chain=chain,
        orders=tuple(order(first, then.id, first_action=action) for (first, action, _), then in zip(before, chain)),
        colocations=tuple(colocation(then.id, first, with_role=role) for (first, _, role), then in zip(before, chain)),
        **{link.name: by_id[link.id(guest)] for link in GUEST_CHAIN},
    )


def guest_fence_specs(guest: GuestPgCluster) -> list[tuple[PrimitiveSpec, str]]:
    """(spec, Pacemaker name of the node it fences) per node."""
    fencing = guest.fencing
    out = []
    for node in guest.nodes:
        params = {"nodename": node.pacemaker_name, "pcmk_host_list": node.pacemaker_name,
                  "pcmk_off_timeout": fencing.timeout, "pcmk_reboot_timeout": fencing.timeout,
                  **tiebreaker_params(fencing.tiebreaker, node.name), **fence_status_timeout(guest.op_timeouts.fence)}
        out.append((PrimitiveSpec(id=fence_device_id(node.name), agent=f"stonith:{fencing.agent}", params=params,
                                  ops=_fence_ops(fencing.monitor_interval, guest.op_timeouts.fence)), node.pacemaker_name))
    return out


def guest_node_to_vm(cfg: StackConfig) -> dict[str, str]:
    """Pacemaker node name -> the VM it runs in."""
    assert cfg.guest is not None
    return {n.pacemaker_name: n.vm for n in cfg.guest.nodes}


def guest_fence_hypervisors(cfg: StackConfig) -> dict[str, str]:
    """Address the guests' fence agent uses -> that hypervisor's Pacemaker node name."""
    assert cfg.guest is not None
    by_address = {}
    for node in cfg.hypervisor.nodes:
        for address in (node.mgmt_address, node.vm_bridge_address):
            if address is not None:
                by_address[str(address)] = node.pacemaker_name
    return {str(a): by_address[str(a)] for a in cfg.guest.fencing.hypervisor_addresses}


def initdb_path(pgctl: str) -> str:
    return posixpath.join(posixpath.dirname(pgctl), "initdb")


def pgdata_init_script(guest: GuestPgCluster) -> str:
    """Run once, on the first primary of a new pgdata: filesystem, cluster, listen on all, and
    where SELinux is on the seed's labels (without them postgresql_t may not touch unlabeled_t).
    It prints one line, for the operator: the labels set, or skipped and why."""
    return (
        'set -e; dev="$1"; mnt="$2"; data="$3"; fstype="$4"; initdb="$5"; net="$6"\n'
        'mkfs -t "$fstype" -f "$dev" >/dev/null 2>&1 || mkfs -t "$fstype" -F "$dev" >/dev/null\n'
        'mkdir -p "$mnt"; mount "$dev" "$mnt"\n'
        'trap \'umount "$mnt"\' EXIT\n'
        'install -d -o postgres -g postgres -m 0700 "$data"\n'
        'runuser -u postgres -- "$initdb" -D "$data" >/dev/null\n'
        'echo "listen_addresses = \'*\'" >> "$data/postgresql.conf"\n'
        'echo "host all all $net md5" >> "$data/pg_hba.conf"\n'
        # chcon, not Filesystem's context= mount option: the labels live in the filesystem's own xattrs and
        # go with it to either node, while a kernel without SELinux refuses context= and the config cannot know.
        f'if {SELINUX_ON}; then chcon -t mnt_t "$mnt"; chcon -R -t postgresql_db_t "$data"\n'
        '  echo "SELinux labels: $mnt mnt_t, $data postgresql_db_t, on $(uname -n)"\n'
        'else echo "SELinux labels of $mnt: skipped: no SELinux on $(uname -n)"; fi\n'
    )


def layer_selinux_booleans(layer: str, monitoring: Monitoring | None) -> dict[str, bool]:
    """The seed's SELinux booleans on LAYER's nodes: daemons_enable_cluster_mode on both layers'
    (its cluster daemons), nagios_run_sudo on the guests with hastack:monitoring (NRPE runs crm_mon
    through sudo; hastack's NRPE is on the guests only, so the hypervisors need not allow it)."""
    booleans = {"daemons_enable_cluster_mode": True}
    if layer == "guest" and monitoring is not None:
        booleans["nagios_run_sudo"] = True
    return booleans


def ocf_helper_links_on(guest: GuestPgCluster) -> bool:
    """guest.ocf_helper_links, or derived: on, except with Debian's PostgreSQL (pgctl under
    /usr/lib/postgresql/), whose pgsql agent finds its helpers where resource-agents puts them."""
    if guest.ocf_helper_links is not None:
        return guest.ocf_helper_links
    return not guest.pgctl.startswith("/usr/lib/postgresql/")
