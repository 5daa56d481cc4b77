"""LibvirtDomain as a Pulumi resource: the adapter of hastack.resources.libvirt_domain."""
from hastack.resources import libvirt_domain
from providers.base import host_resource

LibvirtDomainProvider, LibvirtDomain = host_resource("LibvirtDomain", libvirt_domain, __name__)
