"""Node connection props for providers: explicit inputs, secret only where a key is inline."""
from __future__ import annotations

import pulumi

from hastack.config.models import ClusterNode, Ssh


def ssh_ref(name: str, ssh: Ssh) -> tuple[dict, bool]:
    """A node ref ({name, ssh}) and whether it holds a secret (an inline private key)."""
    plain = ssh.model_dump(mode="json", exclude_none=True, exclude={"private_key"})
    if ssh.private_key is not None:
        plain["private_key"] = ssh.private_key.get_secret_value()
    return {"name": name, "ssh": plain}, ssh.private_key is not None


def node_refs(nodes: tuple[ClusterNode, ...] | list[ClusterNode]):
    refs = [ssh_ref(node.name, node.ssh) for node in nodes]
    listed = [ref for ref, _secret in refs]
    return pulumi.Output.secret(listed) if any(secret for _ref, secret in refs) else listed


def child(parent: pulumi.Resource, depends_on=None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [])
