"""DrbdResource as a Pulumi resource: the adapter of hastack.resources.drbd_resource."""
from hastack.resources import drbd_resource
from providers.base import host_resource

DrbdResourceProvider, DrbdResource = host_resource("DrbdResource", drbd_resource, __name__)
