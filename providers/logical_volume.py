"""LogicalVolume as a Pulumi resource: the adapter of hastack.resources.logical_volume."""
from hastack.resources import logical_volume
from providers.base import host_resource

LogicalVolumeProvider, LogicalVolume = host_resource("LogicalVolume", logical_volume, __name__)
