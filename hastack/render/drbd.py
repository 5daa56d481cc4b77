"""DRBD configuration text: global_common.conf and one .res per resource, in either dialect."""
from __future__ import annotations

from dataclasses import dataclass

from hastack.config.models import DrbdDialect, DrbdOptions


@dataclass(frozen=True)
class DrbdHost:
    """One side of a DRBD resource: the `on <name>` section must match that host's `uname -n`."""

    on_name: str
    addresses: tuple[str, ...]  # one per path (ring)


def fence_peer_handlers(dialect: DrbdDialect) -> tuple[str, str]:
    suffix = ".9.sh" if dialect == DrbdDialect.V9 else ".sh"
    return f"/usr/lib/drbd/crm-fence-peer{suffix}", f"/usr/lib/drbd/crm-unfence-peer{suffix}"


def render_global_common(options: DrbdOptions) -> str:
    fence_peer, unfence_peer = fence_peer_handlers(options.dialect)
    # The seed lists fence-peer handlers without a fencing policy, so DRBD would never call
    # them; the policy lives in `net` for DRBD 9 and in `disk` for 8.4.
    fencing = f"fencing {options.fencing};"
    net_fencing = f"\n    {fencing}" if options.dialect == DrbdDialect.V9 else ""
    disk_fencing = f"\n    {fencing}" if options.dialect == DrbdDialect.V84 else ""
    return f"""# Managed by hastack; edits are reported as drift and replaced by the next `pulumi up`.
global {{
  usage-count no;
}}
common {{
  net {{
    protocol C;{net_fencing}
  }}
  disk {{
    on-io-error detach;{disk_fencing}
  }}
  handlers {{
    fence-peer "{fence_peer}";
    after-resync-target "{unfence_peer}";
    split-brain "/usr/lib/drbd/notify-split-brain.sh root";
  }}
  startup {{
    wfc-timeout {options.wfc_timeout};
    degr-wfc-timeout {options.degr_wfc_timeout};
  }}
}}
"""


def resource_paths(hosts: tuple[DrbdHost, ...], ports: tuple[int, ...],
                   dialect: DrbdDialect) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """(port, each host's address on it) of every connection path a .res holds: DRBD 9 one path
    per port (path i on ring i), 8.4 the first ring's only.  The firewall opens exactly these."""
    if dialect == DrbdDialect.V9:
        return tuple((port, tuple(h.addresses[i] for h in hosts)) for i, port in enumerate(ports))
    return ((ports[0], tuple(h.addresses[0] for h in hosts)),)


def render_resource(
    name: str,
    minor: int,
    disk: str,
    hosts: tuple[DrbdHost, DrbdHost],
    ports: tuple[int, ...],
    options: DrbdOptions,
) -> str:
    """A resource file.  DRBD 9: node-ids and one `path` per ring; 8.4: the first ring only.

    The seed's guest pgdata.res gave its `on` sections management addresses that contradict its
    paths; with paths present hastack writes no `on`-section address, so the two cannot disagree.
    """
    paths = resource_paths(hosts, ports, options.dialect)
    body = [f"resource {name} {{", "  protocol C;", f"  disk {{ resync-rate {options.resync_rate}; }}",
            f"  net {{ verify-alg {options.verify_alg}; }}"]
    for node_id, host in enumerate(hosts):
        body.append(f"  on {host.on_name} {{")
        if options.dialect == DrbdDialect.V9:
            body.append(f"    node-id {node_id};")
        body += [f"    device /dev/drbd{minor};", f"    disk {disk};"]
        if options.dialect == DrbdDialect.V84:
            port, addresses = paths[0]
            body.append(f"    address {addresses[node_id]}:{port};")
        body += ["    meta-disk internal;", "  }"]
    if options.dialect == DrbdDialect.V9:
        body.append("  connection {")
        for port, addresses in paths:
            body.append("    path {")
            for host, address in zip(hosts, addresses):
                body.append(f"      host {host.on_name} address {address}:{port};")
            body.append("    }")
        body.append("  }")
    body.append("}")
    return "# Managed by hastack.\n" + "\n".join(body) + "\n"
