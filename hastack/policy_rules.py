"""The policy pack's rules as pure functions over the stack's resources.

`policy/__main__.py` wraps each rule in a pulumi-policy StackValidationPolicy; the tests call the
rules directly with hand-made props.  A rule takes the stack's resources (type name, resource name,
props as the provider receives them) and returns findings that name the resource, the values and
the fix.  No rule imports pulumi: secretness comes in as a set of paths (see `check_secrets`).

Each resource's props are validated through its type's own props model (the core module
hastack/resources/registry.py names: hastack/resources/<x>.py or hastack/pacemaker/<kind>.py, the
model its provider validates with), and the rules read typed fields.  Props that do not
validate are the `props-valid` rule's findings (resource and field named); the other rules do not
see that resource.
"""
from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from pydantic import ValidationError

from hastack.config.models import PG_PORT, DrbdDialect, duration_ms
from hastack.layout import GUEST_CHAIN
from hastack.pacemaker.common import INFINITY, is_true, score_value
from hastack.pacemaker.primitive import PrimitiveSpec, agent_type
from hastack.pacemaker.stonith import avoid_location_id
from hastack.reports import HastackError, Report, Severity
from hastack.resources import drbd_resource, registry
from hastack.resources.base import Props, digest, validate_props
from hastack.resources.firewall import DATABASE

GLOBAL_COMMON = "/etc/drbd.d/global_common.conf"
DEFAULT_OP_TIMEOUT_MS = 20_000  # Pacemaker's default operation timeout
DEFAULT_STONITH_TIMEOUT_MS = 60_000  # Pacemaker's default stonith-timeout


@dataclass(frozen=True)
class Resource:
    """One resource of the stack as the pack sees it: `type` is the short type name
    (`StonithDevice` for `pulumi-python:dynamic/hastack:StonithDevice`)."""

    type: str
    name: str
    props: dict
    urn: str = ""
    unknown: tuple[str, ...] = ()  # props a preview cannot know yet (made by a resource not yet created): left out


@dataclass(frozen=True)
class Typed:
    """A resource whose props validated: `props` is its type's props model (DrbdResourceProps,
    PcsResourceProps, ...)."""

    type: str
    name: str
    props: Props
    urn: str = ""


@dataclass(frozen=True)
class Finding:
    rule: str
    resource: str  # resource name (Pulumi's), "" for the stack as a whole
    message: str
    urn: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[..., list[Finding]]
    advisory: bool = False  # default enforcement: advisory instead of mandatory
    config: dict = field(default_factory=dict)  # JSON schema properties of its per-stack config
    secrets: bool = False  # check takes a third argument: the secret paths (see check_secrets)


def short_type(token: str) -> str:
    return token.rsplit(":", 1)[-1]


# ---- props through their models -----------------------------------------------------------------
# Validated props by type and digest of their content: the engine hands each rule of the pack its
# own copy of the stack, so without it every resource would be validated once per rule.
_VALIDATED: dict[tuple[str, str], Props] = {}


def validated(r: Resource) -> Typed:
    """R with its props as its type's props model.  ValidationError names the fields;
    UNKNOWN_RESOURCE_TYPE for a type hastack/resources/registry.py does not list."""
    key = (r.type, digest(json.dumps(r.props, sort_keys=True, default=repr)))
    props = _VALIDATED.get(key)
    if props is None:
        props = validate_props(registry.core(r.type), r.props)
        if len(_VALIDATED) > 4096:
            _VALIDATED.clear()
        _VALIDATED[key] = props
    return Typed(r.type, r.name, props, r.urn)


def prevalidated(resources: Iterable[Resource | Typed]) -> list[Resource | Typed]:
    """Each resource as Typed where its props validate, else as it is: what run_all hands every
    rule, so that no rule validates again."""
    out = []
    for r in resources:
        try:
            out.append(r if isinstance(r, Typed) else validated(r))
        except (ValidationError, HastackError):
            out.append(r)
    return out


def _valid(resources: Iterable[Resource | Typed]) -> list[Typed]:
    """The resources whose props validate, typed; the others are props-valid's findings."""
    return [r for r in prevalidated(resources) if isinstance(r, Typed)]


def _over_valid(check: Callable[..., list[Finding]]) -> Callable[..., list[Finding]]:
    """A rule over the stack's resources (Resource, plain props) that reads only those whose props
    validate, as Typed."""
    @functools.wraps(check)
    def rule(resources: list[Resource | Typed], options: dict | None = None, *rest) -> list[Finding]:
        return check(_valid(resources), options, *rest)
    return rule


# ---- small helpers ------------------------------------------------------------------------------
def _of(resources: Iterable[Typed], *types: str, layer: str | None = None) -> list[Typed]:
    """Resources of these types (of that layer) in name order (the engine registers them in no fixed order)."""
    return sorted((r for r in resources if r.type in types and layer in (None, r.props.layer)), key=lambda r: r.name)


def _layers(resources: Iterable[Typed]) -> list[str]:
    return sorted({r.props.layer for r in resources})


def _node_names(r: Typed) -> list[str]:
    return [n.name for n in r.props.nodes]


def _finding(rule: str, r: Typed | Resource | None, message: str) -> Finding:
    return Finding(rule, r.name if r else "", message, r.urn if r else "")


def _ms(value: str | None, default: int) -> int:
    if value in (None, ""):
        return default
    text = str(value).strip()
    if re.fullmatch(r"[0-9]+", text):
        return int(text) * 1000
    try:
        return duration_ms(text)
    except ValueError:
        return default


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _is_drbd(spec: PrimitiveSpec) -> bool:
    return spec.agent_type == "drbd"


def _pacemaker_names(cluster: Typed) -> dict[str, str]:
    """A CorosyncCluster's node name -> Pacemaker node name (the node name itself if unset)."""
    return {n: cluster.props.pacemaker_names.get(n) or n for n in _node_names(cluster)}


def _cluster_nodes(resources: list[Typed], layer: str) -> list[str]:
    """The layer's nodes by their Pacemaker names."""
    for r in _of(resources, "CorosyncCluster", layer=layer):
        if _node_names(r):
            return list(_pacemaker_names(r).values())
    for r in _of(resources, "PcsClusterConfig", layer=layer) + [r for r in resources if r.props.layer == layer]:
        if _node_names(r):
            return _node_names(r)
    return []


def _constraints(resources: list[Typed], layer: str, kind: str) -> list:
    return [r.props.spec for r in _of(resources, "PcsConstraint", layer=layer) if r.props.spec.kind == kind]


def _primitives(resources: list[Typed], layer: str | None = None) -> list[tuple[Typed, PrimitiveSpec]]:
    return [(r, r.props.spec) for r in _of(resources, "PcsResource", layer=layer)]


def _config(resources: list[Typed], layer: str) -> Typed | None:
    """The layer's PcsClusterConfig."""
    return next(iter(_of(resources, "PcsClusterConfig", layer=layer)), None)


def _is_secret(secret_paths: dict[str, set[tuple]], name: str, path: tuple) -> bool:
    """Whether the engine marked PATH of resource NAME's props secret (or a part holding it)."""
    return any(path[:len(p)] == p for p in secret_paths.get(name, set()))


# ---- props --------------------------------------------------------------------------------------
# Fields that may hold keys and passwords even where nothing marked them secret: never shown.
NEVER_SHOWN = ("nodes", "secret_values", "content")


def _shown_value(e: dict, name: str, secret_paths: dict[str, set[tuple]] | None) -> str:
    """` = VALUE` for a short plain value the error is about; "" where it might be a secret."""
    value, loc = e.get("input"), tuple(e["loc"])
    if (secret_paths is None or not loc or loc[0] in NEVER_SHOWN or _is_secret(secret_paths, name, loc)
            or not isinstance(value, (str, int, float, bool)) or len(str(value)) > 80):
        return ""
    return f" = {value!r}"


def check_props_valid(resources: list[Resource | Typed], options: dict | None = None,
                      secret_paths: dict[str, set[tuple]] | None = None) -> list[Finding]:
    """Each resource's props validate through its type's props model, as its provider's check
    validates them: what that check would refuse is named here, field by field (the other rules do
    not see the resource).  (A value unknown during preview never gets here: reading it raises
    pulumi-policy's UnknownValueError, which the library reports as the rule not run.)"""
    rule, out = "props-valid", []
    for r in sorted(resources, key=lambda r: r.name):
        if isinstance(r, Typed):
            continue
        try:
            validated(r)
        except HastackError as error:
            out.append(_finding(rule, r, f"{r.name}: {error.message}"))
        except ValidationError as error:
            kind = registry.core(r.type)
            for e in error.errors():
                if e["type"] == "missing" and e["loc"] and e["loc"][0] in r.unknown:
                    continue  # known once the resource that makes it exists; its provider checks it then
                loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".") or "props"
                out.append(_finding(rule, r, (
                    f"{r.name} ({r.type}): {loc}{_shown_value(e, r.name, secret_paths)}: {e['msg']}; its provider "
                    f"refuses these props before any host is touched: give {loc} a value {kind.PROPS.__name__} "
                    f"({kind.__name__}) accepts, where the stack's program or config builds it")))
    return out


# ---- stickiness against location ----------------------------------------------------------------
def _location_preferences(resources: list[Typed], config: Typed) -> list[tuple[str, str, int]]:
    """(resource, node, score) of every positive location preference of the config's layer."""
    prefs = [(c.resource, c.node, score_value(c.score)) for c in _constraints(resources, config.props.layer, "location")]
    known = {p[0] for p in prefs}
    for resource, score in config.props.location_scores.items():
        if resource not in known:
            prefs.append((resource, "its preferred node", score))
    return [p for p in prefs if p[2] > 0]


def _stickiness(resources: list[Typed], config: Typed, resource_id: str) -> tuple[int, str]:
    for _r, spec in _primitives(resources, config.props.layer):
        if resource_id in (spec.id, spec.top_id) and "resource-stickiness" in spec.meta:
            return score_value(spec.meta["resource-stickiness"]), f"{resource_id}'s own meta"
    if "resource-stickiness" in config.props.resource_defaults:
        return score_value(config.props.resource_defaults["resource-stickiness"]), "resource_defaults"
    return 0, "Pacemaker's default"


@_over_valid
def check_stickiness_vs_location(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "stickiness-exceeds-location", []
    for r in _of(resources, "PcsClusterConfig"):
        failback = r.props.failback
        if failback == "allowed":
            continue
        layer = r.props.layer
        for resource, node, score in _location_preferences(resources, r):
            stickiness, where = _stickiness(resources, r, resource)
            if stickiness > score:
                continue
            intent = ("failback is declared 'prevented'" if failback == "prevented"
                      else "failback is not declared (hastack assumes 'prevented')")
            if score >= INFINITY:
                fix = ("give the location a finite score (e.g. 100) and set resource-stickiness to 101 or more, "
                       "or declare failback: allowed")
            else:
                fix = (f"set resource-stickiness to {score + 1} or more ({layer}.resource_defaults: "
                       f"resource-stickiness: \"{score + 1}\"), or declare {layer}.failback: allowed")
            out.append(_finding(rule, r, (
                f"{layer} cluster: {resource} prefers {node} with score {score} but resource-stickiness is "
                f"{stickiness} ({where}), so {resource} moves back to {node} whenever that node returns, while "
                f"{intent}: {fix}")))
    return out


@_over_valid
def check_failback_allowed(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "failback-declared-allowed", []
    for r in _of(resources, "PcsClusterConfig"):
        if r.props.failback != "allowed":
            continue
        layer = r.props.layer
        prefs = _location_preferences(resources, r)
        moving = [(res, node, score) for res, node, score in prefs if _stickiness(resources, r, res)[0] <= score]
        stickiness = _stickiness(resources, r, "")[0]
        if moving:
            names = ", ".join(sorted({m[0] for m in moving}))
            worst = max(m[2] for m in moving)
            out.append(_finding(rule, r, (
                f"{layer} cluster: failback is declared 'allowed': {names} return to their preferred node as "
                f"soon as it is back (resource-stickiness {stickiness} against location scores up to {worst}); "
                "each return is a second stop/demote/promote/start of that VM.  To prevent it, declare "
                f"failback: prevented and set resource-stickiness to {worst + 1} or more")))
        elif prefs:
            out.append(_finding(rule, r, (
                f"{layer} cluster: failback is declared 'allowed' but resource-stickiness {stickiness} exceeds "
                f"every location score (up to {max(p[2] for p in prefs)}), so nothing fails back: lower "
                "resource-stickiness below the location scores, or declare failback: prevented")))
    return out


# ---- fencing ------------------------------------------------------------------------------------
@_over_valid
def check_stonith_enabled(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    out = []
    for r in _of(resources, "PcsClusterConfig"):
        value, layer = r.props.properties.get("stonith-enabled"), r.props.layer
        if value is not None and not is_true(value):
            out.append(_finding("stonith-enabled", r, (
                f"{layer} cluster: stonith-enabled={value!r}: without fencing Pacemaker promotes DRBD "
                "and starts VMs beside a node it merely lost sight of (split brain); set "
                f"{layer}.properties.stonith-enabled: \"true\"")))
    return out


def _devices(resources: list[Typed], layer: str | None = None) -> list[Typed]:
    """The StonithDevices (props: StonithDeviceProps, a FenceDevice)."""
    return _of(resources, "StonithDevice", layer=layer)


@_over_valid
def check_fence_device_per_node(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    out = []
    for cluster in _of(resources, "CorosyncCluster"):
        layer = cluster.props.layer
        fenced = {d.props.fences_node for d in _devices(resources, layer)}
        for node in _pacemaker_names(cluster).values():
            if node not in fenced:
                out.append(_finding("fence-device-per-node", cluster, (
                    f"{layer} cluster {cluster.props.cluster_name}: node {node} has no fence "
                    f"device (devices fence {sorted(x for x in fenced if x) or 'nothing'}); a lost {node} could "
                    f"never be confirmed dead: add a StonithDevice with fences_node: {node}")))
    return out


def _host_targets(params: dict) -> list[str]:
    if params.get("pcmk_host_list"):
        return [t for t in re.split(r"[\s,;]+", params["pcmk_host_list"]) if t]
    if params.get("pcmk_host_map"):
        return [p.split(":", 1)[0] for p in re.split(r"[\s,;]+", params["pcmk_host_map"]) if p]
    return []


@_over_valid
def check_fence_device_avoids_target(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "fence-device-avoids-target", []
    for device in _devices(resources):
        layer, spec, target = device.props.layer, device.props.spec, device.props.fences_node
        nodes = _cluster_nodes(resources, layer)
        dev_id = spec.id
        if not target:
            out.append(_finding(rule, device, f"{dev_id}: fences_node is empty, so no location keeps it off the "
                                              "node it fences: set fences_node to the node this device shoots"))
            continue
        if nodes and target not in nodes:
            out.append(_finding(rule, device, (
                f"{dev_id}: fences_node {target!r} is not a {layer} node {nodes}; its -INFINITY location would "
                "bind nothing: name the node this device fences")))
        targets = _host_targets(spec.params)
        if targets and targets != [target]:
            out.append(_finding(rule, device, (
                f"{dev_id}: pcmk_host_list/map targets {targets} but its location avoids only {target}: it "
                f"could run on a node it fences; fence exactly one node per device (pcmk_host_list={target})")))
        for c in _constraints(resources, layer, "location"):
            if c.resource == dev_id and c.node == target and score_value(c.score) >= 0:
                out.append(_finding(rule, device, (
                    f"{dev_id}: location {c.id} gives it score {c.score} on {target}, the node it fences "
                    f"(a node would be asked to shoot itself); remove it: the device carries "
                    f"{avoid_location_id(dev_id, target)} = -INFINITY")))
    return out


def _delay_ms(params: dict) -> int:
    return max(_ms(params.get("pcmk_delay_base"), 0), _ms(params.get("pcmk_delay_max"), 0))


@_over_valid
def check_single_tiebreaker(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "single-tiebreaker", []
    for layer in _layers(_devices(resources)):
        nodes = _cluster_nodes(resources, layer)
        if nodes and len(nodes) != 2:
            continue  # a tiebreaker is a two-node matter; larger clusters use quorum
        devices = _devices(resources, layer)
        delayed = [d for d in devices if _delay_ms(d.props.spec.params) > 0]
        if len(delayed) == 1:
            continue
        anchor = delayed[1] if len(delayed) > 1 else devices[0]
        if not delayed:
            message = (f"{layer} cluster: none of {[d.props.spec.id for d in devices]} has pcmk_delay_base/"
                       "pcmk_delay_max, so in a partition both nodes shoot at once (mutual fencing, both down): "
                       "put the delay on the survivor's device only (tiebreaker: {survivor: <node>})")
        else:
            shown = {d.props.spec.id: {k: v for k, v in d.props.spec.params.items() if k.startswith("pcmk_delay")}
                     for d in delayed}
            message = (f"{layer} cluster: {len(delayed)} devices carry a delay {shown}; with both sides delayed "
                       "the race is random again: keep the delay on exactly one device, the survivor's")
        out.append(_finding(rule, anchor, message))
    return out


def _op_timeout_ms(spec: PrimitiveSpec, name: str) -> int:
    for op in spec.ops:
        if op.name == name and op.timeout:
            return _ms(op.timeout, DEFAULT_OP_TIMEOUT_MS)
    return DEFAULT_OP_TIMEOUT_MS


@_over_valid
def check_guest_fence_timeout(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "guest-fence-timeout", []
    vms = [(spec.id, _op_timeout_ms(spec, "stop"), _op_timeout_ms(spec, "start"))
           for r, spec in _primitives(resources, "hypervisor") if spec.agent_type == "VirtualDomain"]
    if not vms:
        return out
    vm, stop, start = max(vms, key=lambda v: v[1] + v[2])
    needed = stop + start
    guest_config = _config(resources, "guest")
    stonith_timeout = _ms(guest_config.props.properties.get("stonith-timeout") if guest_config else None,
                          DEFAULT_STONITH_TIMEOUT_MS)
    for device in _devices(resources, "guest"):
        params = device.props.spec.params
        for key in ("pcmk_off_timeout", "pcmk_reboot_timeout"):
            value = _ms(params.get(key), stonith_timeout)
            if value > needed:
                continue
            shown = params.get(key) or f"unset (stonith-timeout {_seconds(stonith_timeout)})"
            out.append(_finding(rule, device, (
                f"{device.props.spec.id}: {key}={shown} does not exceed the {_seconds(needed)} the hypervisor "
                f"layer may take to stop and start a VM ({vm}: stop {_seconds(stop)} + start {_seconds(start)}); "
                f"the guest fence would time out while the VM is still being recovered: set guest.fencing.timeout "
                f"to {_seconds(needed + 1000)} or more")))
    return out


@_over_valid
def check_guest_fence_reaches_hypervisors(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "guest-fence-reaches-hypervisors", []
    hv = next(iter(_of(resources, "CorosyncCluster", layer="hypervisor")), None)
    if hv is None:
        return out
    for device in _devices(resources, "guest"):
        path = set(device.props.fence_path)
        for node in _node_names(hv):
            own = list(hv.props.node_addresses.get(node, ()))
            if not path & set(own):
                out.append(_finding(rule, device, (
                    f"{device.props.spec.id}: fence_path {sorted(path)} reaches no address of hypervisor {node} "
                    f"({own or 'no node_addresses known'}); a guest running on {node} could not be fenced and the "
                    f"agent could wrongly report it absent: add one of {own or [node]} to "
                    "guest.fencing.hypervisor_addresses")))
    return out


# ---- DRBD ---------------------------------------------------------------------------------------
def _drbd(resources: list[Typed], layer: str | None = None) -> list[Typed]:
    """The DrbdResources (props: DrbdResourceProps)."""
    return _of(resources, "DrbdResource", layer=layer)


def _global_common(resources: list[Typed], layer: str) -> tuple[Typed | None, str]:
    for r in _of(resources, "RemoteFile", layer=layer):
        if r.props.path == GLOBAL_COMMON:
            return r, r.props.content
    return None, ""


def _strip_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


@_over_valid
def check_drbd_protocol_c(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "drbd-protocol-c", []
    for layer in _layers(_drbd(resources)):
        gc, text = _global_common(resources, layer)
        for proto in re.findall(r"\bprotocol\s+([A-Za-z]+)\s*;", _strip_comments(text)):
            if proto.upper() != "C":
                out.append(_finding(rule, gc, (
                    f"{GLOBAL_COMMON} ({layer}) sets protocol {proto}: a write would be acknowledged before the "
                    "peer has it, and a failover could lose it: use protocol C")))
    for r in _drbd(resources):  # the .res as it is written (the props have no protocol of their own)
        for proto in re.findall(r"\bprotocol\s+([A-Za-z]+)\s*;", drbd_resource.res_text(r.props)):
            if proto.upper() != "C":
                out.append(_finding(rule, r, (
                    f"DRBD resource {r.props.name}: protocol {proto}: asynchronous replication loses "
                    "acknowledged writes on failover: use protocol C")))
                break
    return out


def _paths(r: Typed) -> list[tuple[str, str, int]]:
    (_, a), (_, b) = r.props.hosts
    return list(zip(a, b, r.props.ports))


@_over_valid
def check_drbd_two_paths(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "drbd-two-paths", []
    prefix = int((options or {}).get("network_prefix", 24))
    for r in _drbd(resources):
        if r.props.options.dialect != DrbdDialect.V9:
            continue
        name, paths = r.props.name, _paths(r)
        if len(paths) < 2:
            out.append(_finding(rule, r, (
                f"DRBD resource {name} (DRBD 9) has {len(paths)} path(s) {paths}: one cable or NIC failure stops "
                "replication: give it a path on each storage network (two rings, two ports)")))
            continue
        networks = []
        for a, b, port in paths:
            nets = {ipaddress.ip_network(f"{x}/{prefix}", strict=False) for x in (a, b)}
            networks.append((nets, f"{a}<->{b}:{port}"))
        for i in range(len(networks)):
            for j in range(i + 1, len(networks)):
                if networks[i][0] & networks[j][0]:
                    out.append(_finding(rule, r, (
                        f"DRBD resource {name}: paths {networks[i][1]} and {networks[j][1]} share network "
                        f"{sorted(str(n) for n in networks[i][0] & networks[j][0])} (judged at /{prefix}); "
                        "the second path adds no redundancy: put each path on its own storage network")))
    return out


@_over_valid
def check_drbd84_redundancy(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    out = []
    for r in _drbd(resources):
        if r.props.options.dialect != DrbdDialect.V84:
            continue
        paths = _paths(r)
        first = f"{paths[0][0]}<->{paths[0][1]}:{paths[0][2]}" if paths else "its first ring"
        (_, a), (_, b) = r.props.hosts
        spare = ["<->".join(pair) for pair in zip(a[1:], b[1:])]
        out.append(_finding("drbd84-single-path", r, (
            f"DRBD resource {r.props.name} uses DRBD 8.4: it replicates over one path only ({first}); "
            f"the other storage network{' (' + ', '.join(spare) + ')' if spare else ''} carries corosync but no "
            "replication, so "
            "losing that one link disconnects DRBD (the peer goes Outdated and cannot be promoted until it "
            "resyncs) even though corosync still sees both nodes: use DRBD 9 for two paths, or bond the links")))
    return out


@_over_valid
def check_drbd_unique_port_minor(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "drbd-unique-port-minor", []
    minors: dict[tuple[str, int], str] = {}
    ports: dict[tuple[str, int], str] = {}
    for r in _drbd(resources):
        name, minor = r.props.name, r.props.minor
        for host, _addresses in r.props.hosts:
            if (host, minor) in minors and minors[(host, minor)] != name:
                out.append(_finding(rule, r, (
                    f"DRBD resource {name} uses minor {minor} (/dev/drbd{minor}) on {host}, already used by "
                    f"{minors[(host, minor)]}: give it a free minor")))
            minors.setdefault((host, minor), name)
            for port in r.props.ports:
                if (host, port) in ports and ports[(host, port)] != name:
                    out.append(_finding(rule, r, (
                        f"DRBD resource {name} listens on port {port} on {host}, already used by "
                        f"{ports[(host, port)]}: allocate it its own port pair")))
                ports.setdefault((host, port), name)
    return out


@_over_valid
def check_drbd_fencing(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "drbd-fencing", []
    for layer in _layers(_drbd(resources)):
        _gc, common = _global_common(resources, layer)
        for r in _drbd(resources, layer):
            text = _strip_comments(common + "\n" + drbd_resource.res_text(r.props))
            policies = re.findall(r"\bfencing\s+([a-z-]+)\s*;", text)
            name = r.props.name
            if not policies or any(p == "dont-care" for p in policies):
                shown = policies[-1] if policies else "unset (dont-care)"
                out.append(_finding(rule, r, (
                    f"DRBD resource {name} ({layer}): fencing policy is {shown}, so DRBD never calls its fence-peer "
                    "handler and an Outdated peer can be promoted after a split: set drbd fencing: "
                    "resource-and-stonith")))
            missing = [h for h in ("fence-peer", "after-resync-target")
                       if not re.search(rf"\b{h}\s+\"?/", text)]
            if missing:
                out.append(_finding(rule, r, (
                    f"DRBD resource {name} ({layer}): no {' or '.join(missing)} handler in {GLOBAL_COMMON} or the "
                    ".res file (fence-peer places the constraint that keeps a stale peer from promoting; "
                    "after-resync-target lifts it): add handlers { fence-peer \"/usr/lib/drbd/crm-fence-peer.9.sh\"; "
                    "after-resync-target \"/usr/lib/drbd/crm-unfence-peer.9.sh\"; }")))
    return out


@_over_valid
def check_drbd_handler_node_names(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    """crm-fence-peer.sh names the surviving node by `uname -n` (DRBD's on-section name) in a
    `#uname ne <that name>` rule: if Pacemaker calls the node anything else, the rule forbids
    promotion on every node, and one lost node takes down every VM and the database."""
    rule, out = "drbd-handler-node-names", []
    for cluster in _of(resources, "CorosyncCluster"):
        layer = cluster.props.layer
        pacemaker = sorted(_pacemaker_names(cluster).values())
        _gc, common = _global_common(resources, layer)
        for r in _drbd(resources, layer):
            text = _strip_comments(common + "\n" + drbd_resource.res_text(r.props))
            if not re.search(r"\bfence-peer\s+\"?[^\s\";]*crm-fence-peer", text):
                continue
            on_names = sorted(on_name for on_name, _addresses in r.props.hosts)
            if on_names != pacemaker:
                out.append(_finding(rule, r, (
                    f"DRBD resource {r.props.name} ({layer}): its hosts are {on_names} (`uname -n`, the names "
                    f"crm-fence-peer.sh writes into its constraint) but Pacemaker names the nodes {pacemaker}; the "
                    "handler's `#uname ne <host>` rule would then forbid promotion on the survivor too: name each "
                    "Pacemaker node by its host's `uname -n` (the node's fqdn)")))
    return out


@_over_valid
def check_drbd_clone_meta(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "drbd-clone-meta", []
    for r, spec in _primitives(resources, "hypervisor") + _primitives(resources, "guest"):
        if not _is_drbd(spec):
            continue
        if not spec.promotable:
            out.append(_finding(rule, r, f"{spec.id}: ocf:linbit:drbd is not a promotable clone: make it "
                                         "promotable with promoted-max=1 clone-max=2"))
            continue
        meta = spec.promotable.meta
        wanted = {"promoted-max": "1", "clone-max": "2"}
        legacy = {"promoted-max": "master-max"}
        for key, value in wanted.items():
            have = meta.get(key, meta.get(legacy.get(key, ""), None))
            if str(have) != value:
                out.append(_finding(rule, r, (
                    f"{spec.top_id}: {key}={have if have is not None else 'unset'}; a DRBD clone must have "
                    f"{key}={value} (one Primary, one copy per node of a two-node cluster): set {key}={value}")))
    return out


# ---- constraints --------------------------------------------------------------------------------
def _has_colocation(cols: list, resource: str, with_resource: str, role: str | None) -> bool:
    return any(c.resource == resource and c.with_resource == with_resource and (role is None or c.with_role == role)
               and score_value(c.score) >= INFINITY for c in cols)


def _has_order(orders: list, first: str, first_action: str, then: str) -> bool:
    return any(o.first == first and o.first_action == first_action and o.then == then and o.then_action == "start"
               for o in orders)


def _domain_minor(resources: list[Typed], vm_resource: PrimitiveSpec) -> int | None:
    config = vm_resource.params.get("config", "")
    name = config.rsplit("/", 1)[-1].removesuffix(".xml")
    for d in _of(resources, "LibvirtDomain"):
        if d.props.name == name:
            match = re.search(r"/dev/drbd([0-9]+)", d.props.xml)
            return int(match.group(1)) if match else None
    return None


@_over_valid
def check_vm_force_stop(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "vm-force-stop", []
    for r, spec in _primitives(resources, "hypervisor"):
        if spec.agent_type == "VirtualDomain" and is_true(spec.params.get("force_stop")):
            out.append(_finding(rule, r, (
                f"{spec.id}: force_stop=true destroys the domain on every stop (failover, failback, "
                "disable, destroy) without an ACPI shutdown, so its OS never shuts down cleanly and what it had "
                "not written to its disk is lost. Meant for stand-in domains that run no OS (the lab stack); "
                "for a VM with a real OS set force_stop: false and give vm_stop time for a clean shutdown")))
    return out


@_over_valid
def check_vm_follows_drbd(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "vm-follows-promoted-drbd", []
    layer = "hypervisor"
    cols, orders = _constraints(resources, layer, "colocation"), _constraints(resources, layer, "order")
    clones = {s.top_id: s for _r, s in _primitives(resources, layer) if _is_drbd(s)}
    minors = {d.props.name: d.props.minor for d in _drbd(resources, layer)}
    for r, spec in _primitives(resources, layer):
        if spec.agent_type != "VirtualDomain":
            continue
        vm = spec.id
        colocated = [c.with_resource for c in cols if c.resource == vm and c.with_resource in clones
                     and _has_colocation(cols, vm, c.with_resource, "Promoted")]
        if not colocated:
            out.append(_finding(rule, r, (
                f"{vm} is not colocated with a promoted DRBD clone (INFINITY, with-rsc-role Promoted): it could "
                f"start where its disk is Secondary or absent: add colocation {vm} with Promoted <drbd-clone> INFINITY")))
            continue
        clone = colocated[0]
        if not _has_order(orders, clone, "promote", vm):
            out.append(_finding(rule, r, (
                f"{vm} is colocated with {clone} but not ordered after its promotion: it could open the disk "
                f"before it is writable: add order promote {clone} then start {vm}")))
        minor = _domain_minor(resources, spec)
        drbd_name = clones[clone].params.get("drbd_resource")
        if minor is not None and drbd_name in minors and minors[drbd_name] != minor:
            out.append(_finding(rule, r, (
                f"{vm}'s domain uses /dev/drbd{minor} but it follows {clone} (DRBD {drbd_name}, /dev/drbd"
                f"{minors[drbd_name]}): colocate it with the clone of its own disk")))
    return out


def _declared_chain(resources: list[Typed], prims: list[tuple[Typed, PrimitiveSpec]]) -> list[str]:
    """The chain the guest cluster config declares; without one, GUEST_CHAIN's agents in its order."""
    config = _config(resources, "guest")
    if config and config.props.chain:
        return list(config.props.chain)
    by_type = {}
    for _r, spec in prims:
        by_type.setdefault(spec.agent_type, spec.id)
    return [by_type[agent_type(link.agent)] for link in GUEST_CHAIN if agent_type(link.agent) in by_type]


@_over_valid
def check_guest_chain(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "guest-chain-complete", []
    layer = "guest"
    prims = _primitives(resources, layer)
    if not prims:
        return out
    cols, orders = _constraints(resources, layer, "colocation"), _constraints(resources, layer, "order")
    clone = next(((r, s) for r, s in prims if _is_drbd(s)), None)
    shape = " -> ".join(["promote", *(agent_type(link.agent) for link in GUEST_CHAIN)])
    if clone is None:
        return [_finding(rule, prims[0][0], f"guest cluster has no DRBD promotable clone: the chain {shape} has "
                                            "nothing to start from")]
    by_id = {s.id: (r, s) for r, s in prims}
    chain = _declared_chain(resources, prims)
    types = [by_id[rid][1].agent_type for rid in chain if rid in by_id]
    for link in GUEST_CHAIN:  # each built-in link, in its order
        kind = agent_type(link.agent)
        if kind not in types:
            return [_finding(rule, clone[0], f"guest cluster has no {kind} resource: the chain {shape} is incomplete")]
        types = types[types.index(kind) + 1:]
    missing = [rid for rid in chain if rid not in by_id]
    if missing:
        return [_finding(rule, clone[0], f"the guest chain {chain} names {missing}, which no guest PcsResource is: "
                                         "add the resource or take it out of guest.chain_extras")]
    previous, previous_action, previous_role = clone[1].top_id, "promote", "Promoted"
    for rid in chain:
        r = by_id[rid][0]
        if not _has_order(orders, previous, previous_action, rid):
            out.append(_finding(rule, r, f"{rid} is not ordered after {previous_action} of {previous}: add order "
                                         f"{previous_action} {previous} then start {rid}"))
        if not _has_colocation(cols, rid, previous, previous_role):
            role = f" {previous_role}" if previous_role else ""
            out.append(_finding(rule, r, f"{rid} is not colocated with{role} {previous} (INFINITY): it could run "
                                         f"on the other guest: add colocation {rid} with{role} {previous} INFINITY"))
        previous, previous_action, previous_role = rid, "start", None
    return out


# ---- firewall -----------------------------------------------------------------------------------
@_over_valid
def check_guest_database_clients(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "guest-database-clients", []
    guest = _of(resources, "CorosyncCluster", layer="guest")
    walls = _of(resources, "Firewall", layer="guest")
    fix = ("list the networks the clients connect from in guest.firewall.database_clients (e.g. [10.0.5.0/24]), or "
           "leave it out to open the port to the guests' management network")
    if guest and not walls:
        out.append(_finding(rule, guest[0], (
            f"the guest layer has no Firewall, so nothing opens PostgreSQL's port {PG_PORT} to its clients: a guest "
            f"whose firewall denies by default (RHEL's firewalld) refuses every client at the VIP; {fix}")))
    for r in walls:
        # An Opening has at least one source: one for the database is an opening to some client.
        if not any(o.purpose == DATABASE for openings in r.props.openings.values() for o in openings):
            out.append(_finding(rule, r, (
                f"{', '.join(_node_names(r)) or r.name}: no client may reach PostgreSQL's port {PG_PORT} "
                "(guest.firewall.database_clients is empty): a guest whose firewall denies by default (RHEL's "
                f"firewalld) refuses every client at the VIP, and only the guests themselves reach the database; {fix}")))
    return out


# ---- the alert feed -----------------------------------------------------------------------------
def _installed_agents(resources: list[Typed], layer: str) -> set[str]:
    """Paths of the executable files the stack writes on the layer's nodes."""
    return {r.props.path for r in _of(resources, "RemoteFile", layer=layer) if r.props.mode & 0o111}


@_over_valid
def check_alert_path_per_layer(resources: list[Typed], options: dict | None = None) -> list[Finding]:
    rule, out = "alert-path-per-layer", []
    fix = "add the layer to hastack:monitoring.alert_layers, which installs hastack's agent and registers its alert"
    for r in _of(resources, "PcsClusterConfig"):
        layer = r.props.layer
        if not r.props.alerts:
            out.append(_finding(rule, r, (
                f"the {layer} cluster has no Pacemaker alert: its membership changes, resource operations and "
                "fencing reach no one as they happen (it heals faster than polling sees; the seed feeds Nagios "
                f"from both layers); {fix}")))
            continue
        installed = _installed_agents(resources, layer)
        for alert in r.props.alerts:
            if alert.path not in installed:
                out.append(_finding(rule, r, (
                    f"alert {alert.id} runs {alert.path}, which no resource of the stack installs on the {layer} "
                    f"nodes: unless it is there by other means, Pacemaker logs a failure for every event and "
                    f"nothing is sent; {fix}")))
    return out


# ---- secrets ------------------------------------------------------------------------------------
SECRET_PARAM = re.compile(r"^(password|passwd|auth_password|priv_password|secret|private_key|community)$")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


@_over_valid
def check_secrets(resources: list[Typed], options: dict | None = None,
                  secret_paths: dict[str, set[tuple]] | None = None) -> list[Finding]:
    """`secret_paths[resource name]` holds the prop paths (tuples of keys/indices) the engine marked
    secret.  None means the pack could not see secretness at all, which is itself reported."""
    rule, out = "fence-secrets-are-secret", []
    if secret_paths is None:
        return [Finding(rule, "", "cannot tell secret from plain props (the policy runtime dropped Pulumi's secret "
                                  "markers); fence passwords and keys are unverified")]

    def secret(r: Typed, path: tuple) -> bool:
        return _is_secret(secret_paths, r.name, path)

    for r in _of(resources, "PcsResource", "StonithDevice"):
        spec, values = r.props.spec, r.props.secret_values
        for key, value in values.items():
            if value and not secret(r, ("secret_values", key)):
                out.append(_finding(rule, r, (
                    f"{spec.id}: secret_values.{key} is plain text in the resource's inputs (and so in the "
                    f"state file): pass it as pulumi.Output.secret(...) (config: `pulumi config set --secret`)")))
        for key, value in spec.params.items():
            if not value or secret(r, ("spec", "params", key)):
                continue
            if key in spec.secret_params or SECRET_PARAM.match(key):
                out.append(_finding(rule, r, (
                    f"{spec.id}: parameter {key} carries a plain-text value: keep it out of params; put it in "
                    f"secret_values (listed in secret_params) as a Pulumi secret")))
        for key in spec.secret_params:
            if key not in values:
                out.append(_finding(rule, r, f"{spec.id}: secret parameter {key} has no value in "
                                             f"secret_values: supply it as a Pulumi secret"))
    for r in _of(resources, "RemoteFile"):
        content = r.props.content
        if (r.props.secret or PRIVATE_KEY.search(content)) and content and not secret(r, ("content",)):
            out.append(_finding(rule, r, (
                f"{r.props.path}: a key file (secret: {r.props.secret}) whose content is plain "
                "text in the inputs and state: wrap the content in pulumi.Output.secret(...)")))
    for r in _of(resources, "VmFirstBoot"):
        if r.props.user_data and not secret(r, ("user_data",)):
            out.append(_finding(rule, r, (
                f"{r.name}: user_data (the VM's SSH host key and password hashes) is plain text in the inputs and "
                "state: wrap it in pulumi.Output.secret(...)")))
    for r in sorted(resources, key=lambda r: r.name):
        for i, node in enumerate(getattr(r.props, "nodes", ())):  # state-only types have none
            if node.ssh.get("private_key") and not secret(r, ("nodes", i, "ssh", "private_key")):
                out.append(_finding(rule, r, (
                    f"{r.name}: nodes[{i}].ssh.private_key is plain text: make the whole `nodes` input a secret "
                    "(components.connection.node_refs does this when a key is inline)")))
    return out


def split_secrets(value, path: tuple = (), is_secret: Callable[[object], bool] = lambda v: False,
                  unwrap: Callable[[object], object] = lambda v: v) -> tuple[object, set[tuple]]:
    """Plain value plus the paths of its secret parts, for values where secrets are wrapped objects
    (`is_secret` recognises a wrapper, `unwrap` opens it)."""
    paths: set[tuple] = set()

    def walk(v, p):
        if is_secret(v):
            paths.add(p)
            return walk(unwrap(v), p)
        if isinstance(v, dict) or (hasattr(v, "keys") and hasattr(v, "__getitem__") and not isinstance(v, str)):
            return {k: walk(v[k], p + (k,)) for k in list(v.keys())}
        if isinstance(v, (list, tuple)) or (hasattr(v, "__len__") and hasattr(v, "__getitem__")
                                             and not isinstance(v, (str, bytes))):
            return [walk(v[i], p + (i,)) for i in range(len(v))]
        return v

    return walk(value, path), paths


RULES: tuple[Rule, ...] = (
    Rule("props-valid", "Every hastack resource's props validate through its type's props model.",
         check_props_valid, secrets=True),
    Rule("stickiness-exceeds-location", "If failback is declared prevented, resource-stickiness exceeds every "
         "location preference of the same layer.", check_stickiness_vs_location),
    Rule("failback-declared-allowed", "Failback is declared allowed: say which resources return home.",
         check_failback_allowed, advisory=True),
    Rule("stonith-enabled", "stonith-enabled is true in every cluster.", check_stonith_enabled),
    Rule("fence-device-per-node", "Every cluster node has a fence device.", check_fence_device_per_node),
    Rule("fence-device-avoids-target", "No fence device may run on the node it fences.",
         check_fence_device_avoids_target),
    Rule("single-tiebreaker", "Exactly one fence device of a two-node cluster carries the tiebreaker delay.",
         check_single_tiebreaker),
    Rule("guest-fence-timeout", "The guest fence timeout exceeds the hypervisor's VM stop + start timeouts.",
         check_guest_fence_timeout),
    Rule("guest-fence-reaches-hypervisors", "Guest fence devices reach every hypervisor.",
         check_guest_fence_reaches_hypervisors),
    Rule("drbd-protocol-c", "DRBD replicates with protocol C.", check_drbd_protocol_c),
    Rule("drbd-two-paths", "DRBD 9 resources have two paths on distinct networks.", check_drbd_two_paths,
         config={"network_prefix": {"type": "integer", "minimum": 8, "maximum": 32, "default": 24}}),
    Rule("drbd84-single-path", "DRBD 8.4 replicates over one path: say what redundancy is lost.",
         check_drbd84_redundancy, advisory=True),
    Rule("drbd-unique-port-minor", "DRBD ports and minors are unique on every node.", check_drbd_unique_port_minor),
    Rule("drbd-fencing", "DRBD has a fencing policy and fence-peer/unfence handlers.", check_drbd_fencing),
    Rule("drbd-handler-node-names", "DRBD's fence handler and Pacemaker name each node alike (its `uname -n`).",
         check_drbd_handler_node_names),
    Rule("drbd-clone-meta", "Every DRBD clone is promotable with promoted-max=1 and clone-max=2.",
         check_drbd_clone_meta),
    Rule("vm-force-stop", "A VM that is destroyed instead of shut down is said so.", check_vm_force_stop,
         advisory=True),
    Rule("vm-follows-promoted-drbd", "Every VirtualDomain is colocated with and ordered after its promoted DRBD "
         "clone.", check_vm_follows_drbd),
    Rule("guest-chain-complete", "Guest chain: each link ordered after and colocated with the one before it, from "
         "the DRBD promotion on (fs, pgsql, VIP and any extra link).",
         check_guest_chain),
    Rule("guest-database-clients", "Some client may reach PostgreSQL on the guests through their firewall.",
         check_guest_database_clients, advisory=True),
    Rule("alert-path-per-layer", "Every layer's events have a path out: an alert whose agent the stack installs.",
         check_alert_path_per_layer, advisory=True),
    Rule("fence-secrets-are-secret", "Fence passwords and keys are Pulumi secrets.", check_secrets, secrets=True),
)


def run_all(resources: list[Resource], secret_paths: dict[str, set[tuple]] | None = None,
            options: dict[str, dict] | None = None) -> list[Finding]:
    findings, resources = [], prevalidated(resources)
    for rule in RULES:
        findings += run_rule(rule, resources, (options or {}).get(rule.name, {}), secret_paths)
    return findings


def run_rule(rule: Rule, resources: list[Resource], options: dict,
             secret_paths: dict[str, set[tuple]] | None) -> list[Finding]:
    """RULE's findings; SECRET_PATHS None: the pack cannot see which props are secret."""
    if rule.secrets:
        return rule.check(resources, options, secret_paths)
    return rule.check(resources, options)


def enforcement(rule: Rule, pack_config: dict | None = None) -> str:
    """The rule's level as `pulumi preview --policy-pack-config` would set it: the rule's own entry
    (a level, or a mapping with enforcementLevel), else the pack-wide "all", else the rule's default."""
    pack_config = pack_config or {}
    entry = pack_config.get(rule.name, pack_config.get("all"))
    if isinstance(entry, dict):
        entry = entry.get("enforcementLevel")
    return str(entry) if entry else ("advisory" if rule.advisory else "mandatory")


def run_pack(resources: list[Resource], secret_paths: dict[str, set[tuple]] | None = None,
             pack_config: dict | None = None) -> list[Report]:
    """Every rule at its enforcement level, as the policy pack would report it: a mandatory (or
    remediate) finding is an error, an advisory one a warning; disabled rules are skipped."""
    reports, resources = [], prevalidated(resources)
    for rule in RULES:
        level = enforcement(rule, pack_config)
        if level == "disabled":
            continue
        entry = (pack_config or {}).get(rule.name)
        opts = {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}
        findings = run_rule(rule, resources, opts, secret_paths)
        severity = Severity.WARNING if level == "advisory" else Severity.ERROR
        for finding in findings:
            where = f" [{finding.resource}]" if finding.resource else ""
            reports.append(Report("POLICY", f"{rule.name}{where} {finding.message}", severity))
    return reports
