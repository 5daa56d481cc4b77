"""SystemdUnit as a Pulumi resource: the adapter of hastack.resources.systemd_unit."""
from hastack.resources import systemd_unit
from providers.base import host_resource

SystemdUnitProvider, SystemdUnit = host_resource("SystemdUnit", systemd_unit, __name__)
