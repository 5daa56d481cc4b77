"""corosync.conf for a two-node knet cluster on one link per ring."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CorosyncNode:
    name: str
    nodeid: int
    ring_addresses: tuple[str, ...]


# The rendered corosync.conf sets no mcastport, so knet link N binds (and sends from) UDP port
# 5405 + N on the node's ring N address: corosync's default for a link without broadcast
# (totemconfig.c, DEFAULT_PORT + linknumber; tests/tools/test_firewall_tools.py watches the real
# corosync bind them).  The firewall opens exactly these.
KNET_BASE_PORT = 5405


def knet_port(link: int) -> int:
    return KNET_BASE_PORT + link


def render_corosync_conf(cluster_name: str, nodes: tuple[CorosyncNode, ...], token_ms: int) -> str:
    links = len(nodes[0].ring_addresses)
    interfaces = "".join(
        f"""
    interface {{
        linknumber: {link}
        knet_link_priority: {links - link}
    }}"""
        for link in range(links)
    )
    node_blocks = "".join(
        "\n    node {\n"
        + "".join(f"        ring{i}_addr: {addr}\n" for i, addr in enumerate(node.ring_addresses))
        + f"        name: {node.name}\n        nodeid: {node.nodeid}\n    }}\n"
        for node in nodes
    )
    # link_mode passive: knet sends on the highest-priority live link and fails over, which is
    # what pcs writes by default; both links carry heartbeat, so either alone keeps membership.
    return f"""# Managed by hastack.
totem {{
    version: 2
    cluster_name: {cluster_name}
    transport: knet
    token: {token_ms}
    crypto_cipher: aes256
    crypto_hash: sha256
    link_mode: passive{interfaces}
}}

nodelist {{{node_blocks}}}

quorum {{
    provider: corosync_votequorum
    two_node: 1
}}

logging {{
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: yes
    timestamp: on
}}
"""
