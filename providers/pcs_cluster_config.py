"""PcsClusterConfig: cluster properties, resource defaults and alerts, as one CIB object.
What it is, its argv, its reading and its comparison: hastack/pacemaker/cluster_config.py."""
from __future__ import annotations

from hastack.pacemaker import cluster_config
from providers.base import Props, dynamic_resource
from providers.cib_object import CibObjectProvider


class PcsClusterConfigProps(Props, cluster_config.ClusterConfig):
    pass


class PcsClusterConfigProvider(CibObjectProvider):
    props_model = PcsClusterConfigProps
    compare_fields = cluster_config.COMPARED

    def resource_id(self, props):
        return f"{props.layer}-cluster-config"

    def plan_create(self, props):
        return cluster_config.plan_create(props)

    def plan_delete(self, props):
        return cluster_config.plan_delete(props)

    def plan_update(self, old, new):
        return cluster_config.plan_update(old, new)

    def observe_cib(self, props, cib_xml):
        return cluster_config.observe(props, cib_xml)


PcsClusterConfig = dynamic_resource("PcsClusterConfig", PcsClusterConfigProvider)
