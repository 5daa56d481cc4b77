"""RemoteFile as a Pulumi resource: the adapter of hastack.resources.remote_file."""
from hastack.resources import remote_file
from providers.base import host_resource

RemoteFileProvider, RemoteFile = host_resource("RemoteFile", remote_file, __name__)
