"""VmHostKey as a Pulumi resource: the adapter of hastack.resources.vm_host_key (state only)."""
from __future__ import annotations

from pulumi.dynamic import CreateResult, ReadResult

from hastack.resources import vm_host_key
from providers.base import KindProvider, dynamic_resource


class VmHostKeyProvider(KindProvider):
    """Create makes the key into the state; a change of VM is a replace (a new key); read and
    delete have no host to ask."""

    kind = vm_host_key

    def create(self, props: dict) -> CreateResult:
        p = self._props(props)
        return CreateResult(vm_host_key.resource_id(p), outs={**props, **vm_host_key.made(p)})

    def plan_create(self, props, found=None):
        return self.kind.plan_create(props, found)  # render's: none

    def read(self, id_: str, props: dict) -> ReadResult:
        return ReadResult(id_, dict(props))  # the state is the only copy: nothing to compare it with

    def delete(self, _id: str, _props: dict) -> None:
        pass


VmHostKey = dynamic_resource("VmHostKey", VmHostKeyProvider)
