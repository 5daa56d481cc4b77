"""Node connection props for providers: explicit inputs, secret only where a key is inline."""
from __future__ import annotations

import pulumi

from hastack.config.models import ClusterNode


def node_refs(nodes: tuple[ClusterNode, ...] | list[ClusterNode]):
    refs, secret = [], False
    for node in nodes:
        ssh = node.ssh.model_dump(mode="json", exclude_none=True, exclude={"private_key"})
        if node.ssh.private_key is not None:
            ssh["private_key"] = node.ssh.private_key.get_secret_value()
            secret = True
        refs.append({"name": node.name, "ssh": ssh})
    return pulumi.Output.secret(refs) if secret else refs


def child(parent: pulumi.Resource, depends_on=None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [])
