"""VmFirstBoot as a Pulumi resource: the adapter of hastack.resources.vm_first_boot."""
from hastack.resources import vm_first_boot
from providers.base import host_resource

VmFirstBootProvider, VmFirstBoot = host_resource("VmFirstBoot", vm_first_boot, __name__)
