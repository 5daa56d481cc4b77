"""CorosyncCluster as a Pulumi resource: the adapter of hastack.resources.corosync_cluster."""
from hastack.resources import corosync_cluster
from providers.base import host_resource

CorosyncClusterProvider, CorosyncCluster = host_resource("CorosyncCluster", corosync_cluster, __name__)
