"""PcsClusterConfig: cluster properties, resource defaults and alerts, as one CIB object."""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.facts.cib import parse_alert, parse_properties, parse_resource_defaults
from hastack.render.pcs import (
    alert_create_argvs,
    alert_delete_argv,
    properties_argv,
    properties_unset_argv,
    resource_defaults_argv,
)
from hastack.specs import AlertSpec
from providers.base import Props
from providers.cib_object import CibObjectProvider, cib_plan


class PcsClusterConfigProps(Props):
    properties: dict[str, str]
    resource_defaults: dict[str, str]
    alerts: tuple[AlertSpec, ...] = ()
    # Declared intent, read by the policy pack (never compared with the CIB).
    failback: str | None = None
    location_scores: dict[str, int] = {}


def _create_commands(props: PcsClusterConfigProps) -> list[list[str]]:
    commands = []
    if props.properties:
        commands.append(properties_argv(props.properties))
    if props.resource_defaults:
        commands.append(resource_defaults_argv(props.resource_defaults))
    for alert in props.alerts:
        commands += alert_create_argvs(alert)
    return commands


class PcsClusterConfigProvider(CibObjectProvider):
    props_model = PcsClusterConfigProps
    compare_fields = ("properties", "resource_defaults", "alerts")

    def resource_id(self, props):
        return f"{props.layer}-cluster-config"

    def plan_create(self, props, facts=None):
        return cib_plan(*_create_commands(props))

    def plan_delete(self, props):
        commands = [alert_delete_argv(a) for a in props.alerts]
        if props.properties:
            commands.append(properties_unset_argv(list(props.properties)))
        if props.resource_defaults:
            commands.append(resource_defaults_argv({k: "" for k in props.resource_defaults}))
        return cib_plan(*commands)

    def plan_update(self, old, new):
        commands = [alert_delete_argv(a) for a in old.alerts]
        dropped = [k for k in old.properties if k not in new.properties]
        if dropped:
            commands.append(properties_unset_argv(dropped))
        defaults = {**{k: "" for k in old.resource_defaults if k not in new.resource_defaults}, **new.resource_defaults}
        if new.properties:
            commands.append(properties_argv(new.properties))
        if defaults:
            commands.append(resource_defaults_argv(defaults))
        for alert in new.alerts:
            commands += alert_create_argvs(alert)
        return cib_plan(*commands)

    def observe_cib(self, props, cib_xml):
        live_props = parse_properties(cib_xml)
        live_defaults = parse_resource_defaults(cib_xml)
        observed = {
            "properties": {k: live_props.get(k) for k in props.properties},
            "resource_defaults": {k: live_defaults.get(k) for k in props.resource_defaults},
            "alerts": [parse_alert(cib_xml, a.id) for a in props.alerts],
        }
        wanted = {
            "properties": dict(props.properties),
            "resource_defaults": dict(props.resource_defaults),
            "alerts": [{"id": a.id, "path": a.path, "recipients": [list(r) for r in a.recipients]} for a in props.alerts],
        }
        return {k: v for k, v in observed.items() if v != wanted[k]}


class PcsClusterConfig(pulumi.dynamic.Resource, module="hastack", name="PcsClusterConfig"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PcsClusterConfigProvider(), name, props, opts)
