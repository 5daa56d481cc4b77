"""HostPreflight as a Pulumi resource: the adapter of hastack.resources.host_preflight."""
from hastack.resources import host_preflight
from providers.base import host_resource

HostPreflightProvider, HostPreflight = host_resource("HostPreflight", host_preflight, __name__)
