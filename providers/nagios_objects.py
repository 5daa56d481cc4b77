"""NagiosObjects as a Pulumi resource: the adapter of hastack.resources.nagios_objects."""
from hastack.resources import nagios_objects
from providers.base import host_resource

NagiosObjectsProvider, NagiosObjects = host_resource("NagiosObjects", nagios_objects, __name__)
