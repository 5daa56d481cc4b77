"""One Firewall per node of a layer: what that node opens in its own firewall, created before the
layer's corosync and DRBD resources, which depend on it (so `destroy` removes it after them)."""
from __future__ import annotations

import pulumi

from components.connection import child, node_refs
from hastack.config.models import ClusterNode, FirewallOptions
from hastack.resources.firewall import Layer, Opening
from providers.firewall import Firewall


def node_firewalls(parent: pulumi.Resource, name: str, layer: Layer, nodes: tuple[ClusterNode, ...],
                   options: FirewallOptions, openings: dict[str, tuple[Opening, ...]],
                   depends_on=None) -> list[Firewall]:
    """NAME-firewall-<node> for each of NODES, in their order, children of PARENT; OPENINGS is
    hastack.resources.firewall.layer_openings of the layer."""
    return [Firewall(f"{name}-firewall-{node.name}", {
        "layer": layer, "nodes": node_refs([node]), "base_chain": options.base_chain,
        "nftables_conf": options.nftables_conf,
        "openings": {node.name: [o.model_dump(mode="json") for o in openings[node.name]]},
    }, child(parent, depends_on)) for node in nodes]
