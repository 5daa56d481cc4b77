"""Cluster properties, resource defaults and alerts, managed as one object (PcsClusterConfig;
pcs/lib/cib/nvpair_multi.py and alert.py): the pcs argv, their reading from a CIB, what is
compared, the intent a stack declares for the policy pack, and the resource PcsClusterConfig
manages (the shape of hastack/resources/base.py, read from a CIB)."""
from __future__ import annotations

from hastack.pacemaker import alert
from hastack.pacemaker.alert import AlertSpec
from hastack.pacemaker.common import Argv, Spec, cib_plan, cib_root, nvpairs, pairs
from hastack.plan import Plan
from hastack.resources.base import Live, Props


class ClusterConfig(Spec):
    properties: dict[str, str]
    resource_defaults: dict[str, str]
    alerts: tuple[AlertSpec, ...] = ()
    # Declared intent, read by the policy pack (never compared with the CIB).
    failback: str | None = None
    location_scores: dict[str, int] = {}
    chain: tuple[str, ...] = ()  # the guest chain's primitive ids, in start order after the DRBD promotion


class PcsClusterConfigProps(Props, ClusterConfig):
    pass


class PcsClusterConfigLive(Live):
    """Of what the config set when it was read: the properties and defaults the CIB holds (a key
    it does not hold is absent), and the alerts it holds."""

    properties: dict[str, str]
    resource_defaults: dict[str, str]
    alerts: tuple[AlertSpec, ...]


PROPS, LIVE = PcsClusterConfigProps, PcsClusterConfigLive
COMPARED, REPLACED = ("properties", "resource_defaults", "alerts"), ()


def resource_id(props: PcsClusterConfigProps) -> str:
    return f"{props.layer}-cluster-config"


def properties_argv(properties: dict[str, str]) -> Argv:
    return ["property", "set", *pairs(properties)]


def properties_unset_argv(names: list[str]) -> Argv:
    return ["property", "unset", *sorted(names)]


def resource_defaults_argv(defaults: dict[str, str]) -> Argv:
    """`key=` (empty) removes a default, which is how update drops one."""
    return ["resource", "defaults", "update", *pairs(defaults)]


def read_properties(cib_xml: str) -> dict[str, str]:
    props = {}
    for nvset in cib_root(cib_xml).iter("cluster_property_set"):
        if nvset.get("id") == "cib-bootstrap-options":
            props.update(nvpairs(nvset))
    return props


def read_resource_defaults(cib_xml: str) -> dict[str, str]:
    return nvpairs(cib_root(cib_xml).find(".//rsc_defaults"))


def plan_create(config: ClusterConfig) -> Plan:
    commands = []
    if config.properties:
        commands.append(properties_argv(config.properties))
    if config.resource_defaults:
        commands.append(resource_defaults_argv(config.resource_defaults))
    for spec in config.alerts:
        commands += alert.create_argvs(spec)
    return cib_plan(*commands)


def plan_delete(config: ClusterConfig) -> Plan:
    commands = [alert.delete_argv(a) for a in config.alerts]
    if config.properties:
        commands.append(properties_unset_argv(list(config.properties)))
    if config.resource_defaults:
        commands.append(resource_defaults_argv({k: "" for k in config.resource_defaults}))
    return cib_plan(*commands)


def plan_update(old: ClusterConfig, new: ClusterConfig, live: PcsClusterConfigLive | None) -> Plan:
    held = old if live is None else live  # what the CIB holds of what the old config set
    commands = [alert.delete_argv(a) for a in held.alerts]
    dropped = [k for k in held.properties if k not in new.properties]
    if dropped:
        commands.append(properties_unset_argv(dropped))
    defaults = {**{k: "" for k in held.resource_defaults if k not in new.resource_defaults}, **new.resource_defaults}
    if new.properties:
        commands.append(properties_argv(new.properties))
    if defaults:
        commands.append(resource_defaults_argv(defaults))
    for spec in new.alerts:
        commands += alert.create_argvs(spec)
    return cib_plan(*commands)


def observe(config: ClusterConfig, cib_xml: str) -> PcsClusterConfigLive:
    """Never None: a cluster always has its configuration."""
    live_props, live_defaults = read_properties(cib_xml), read_resource_defaults(cib_xml)
    return PcsClusterConfigLive(
        properties={k: live_props[k] for k in config.properties if k in live_props},
        resource_defaults={k: live_defaults[k] for k in config.resource_defaults if k in live_defaults},
        alerts=tuple(a for a in (alert.read(cib_xml, spec.id) for spec in config.alerts) if a is not None))


def drifted(config: ClusterConfig, live: PcsClusterConfigLive) -> tuple[str, ...]:
    return tuple(field for field in COMPARED if getattr(live, field) != getattr(config, field))
