"""PcsClusterConfig: cluster properties, resource defaults and alerts, as one CIB object.
What it is, its argv, its reading and its comparison: hastack/pacemaker/cluster_config.py."""
from hastack.pacemaker import cluster_config
from providers.cib_object import cib_resource

PcsClusterConfigProvider, PcsClusterConfig = cib_resource("PcsClusterConfig", cluster_config, __name__)
