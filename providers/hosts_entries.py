"""HostsEntries as a Pulumi resource: the adapter of hastack.resources.hosts_entries."""
from hastack.resources import hosts_entries
from providers.base import host_resource

HostsEntriesProvider, HostsEntries = host_resource("HostsEntries", hosts_entries, __name__)
