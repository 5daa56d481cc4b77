"""PcsResource: a Pacemaker primitive, optionally a promotable clone (the seed's DRBD clones)."""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.facts.cib import parse_primitive
from hastack.render.pcs import (
    _pairs,
    disable_argv,
    primitive_create_argvs,
    primitive_delete_argvs,
    secret_placeholder,
)
from hastack.specs import PrimitiveSpec
from hastack.plan import CLUSTER, Run, on
from providers.base import Props
from providers.cib_object import CibObjectProvider, cib_plan


class PcsResourceProps(Props):
    spec: PrimitiveSpec
    # Secret parameter values (fence passwords); never on a command line, never in clear in state.
    secret_values: dict[str, str] = {}


def secrets_for(props: PcsResourceProps) -> dict[str, str]:
    return {secret_placeholder(props.spec.id, k): v for k, v in props.secret_values.items()}


def live_spec_fields(spec: PrimitiveSpec, live: dict) -> dict:
    """The live object in the shape of the spec, comparing only what hastack manages: pcs adds
    default ops, and target-role belongs to PcsResourceEnable."""
    wanted_ops = {(op.name, op.interval, op.role) for op in spec.ops}
    ops = [op for op in live["ops"] if (op.get("name"), op.get("interval"), op.get("role")) in wanted_ops]
    meta = {k: v for k, v in live["meta"].items() if k != "target-role"}
    params = {k: v for k, v in live["params"].items() if k not in spec.secret_params}
    return {
        "agent": live["agent"],
        "params": params,
        "meta": meta,
        "ops": sorted(ops, key=lambda o: (o.get("name"), o.get("interval"), o.get("role") or "")),
        "promotable": live["promotable"]["meta"] if live["promotable"] else None,
    }


def wanted_spec_fields(spec: PrimitiveSpec) -> dict:
    ops = [{k: v for k, v in op.model_dump().items() if v is not None} for op in spec.ops]
    return {
        "agent": spec.agent if spec.agent.count(":") or spec.is_stonith else _qualified(spec.agent),
        "params": {k: v for k, v in spec.params.items() if k not in spec.secret_params},
        "meta": dict(spec.meta),
        "ops": sorted(ops, key=lambda o: (o.get("name"), o.get("interval"), o.get("role") or "")),
        "promotable": dict(spec.promotable.meta) if spec.promotable else None,
    }


def _qualified(agent: str) -> str:
    # pcs resolves a bare agent name; the ones hastack uses all live in ocf:heartbeat.
    return f"ocf:heartbeat:{agent}"


class PcsResourceProvider(CibObjectProvider):
    adopts_existing = True
    props_model = PcsResourceProps
    compare_fields = ("spec", "secret_values")
    replace_fields = ()

    def resource_id(self, props: PcsResourceProps) -> str:
        return props.spec.id

    def plan_create(self, props: PcsResourceProps, facts=None):
        return cib_plan(*primitive_create_argvs(props.spec), secrets=secrets_for(props))

    def plan_delete(self, props: PcsResourceProps):
        # Stopped while its definition still exists, then removed.  A resource removed while it
        # runs is an orphan, which Pacemaker stops without its clone meta and op timeouts (seen
        # live: the drbd agent refused to demote an orphaned clone instance, "expected clone-max
        # -le 2, but found unset"; its stop timed out at the default 20 s and the node was to be
        # fenced).  A wait that times out leaves the resource defined and disabled: the next
        # `up` or `destroy` deletes it again from there.
        settle = on(CLUSTER, Run(("crm_resource", "--wait", "--timeout=300s")))
        return (cib_plan(disable_argv(props.spec.top_id)) + settle
                + cib_plan(*primitive_delete_argvs(props.spec)) + settle)

    def plan_update(self, old: PcsResourceProps, new: PcsResourceProps):
        return cib_plan(*update_argvs(old.spec, new.spec), secrets=secrets_for(new)) + cleanup(new.spec)

    def diff(self, id_, olds, news):
        result = super().diff(id_, olds, news)
        old, new = (olds.get("spec") or {}), (news.get("spec") or {})
        # A different agent, kind or id is a different object; the rest updates in place.
        if any(old.get(k) != new.get(k) for k in ("id", "agent")) or bool(old.get("promotable")) != bool(new.get("promotable")):
            result.replaces = ["spec"]
        return result

    def observe_cib(self, props: PcsResourceProps, cib_xml: str):
        live = parse_primitive(cib_xml, props.spec.id)
        if live is None:
            return None
        fields = live_spec_fields(props.spec, live)
        if fields == wanted_spec_fields(props.spec):
            return {}
        # Drift: report the live values in the spec's own shape so refresh shows them.
        spec = props.spec.model_dump()
        spec.update(params={**fields["params"], **{k: spec["params"][k] for k in props.spec.secret_params if k in spec["params"]}},
                    meta=fields["meta"])
        if fields["promotable"] is not None and spec.get("promotable"):
            spec["promotable"] = {"meta": fields["promotable"]}
        if fields["ops"] != wanted_spec_fields(props.spec)["ops"]:
            spec["ops"] = fields["ops"]
        return {"spec": spec}


def cleanup(spec: PrimitiveSpec):
    """After a definition changes, past failures of the old one no longer count: a start that
    timed out under the old timeout must not keep the fixed resource banned from a node."""
    return on(CLUSTER, Run(("crm_resource", "--cleanup", "--resource", spec.top_id)))


def update_argvs(old: PrimitiveSpec, new: PrimitiveSpec) -> list[list[str]]:
    """In-place update: pcs resource/stonith update for params, meta and ops; clone meta apart."""
    verb = "stonith" if new.is_stonith else "resource"
    params = {k: (f"@@hastack-secret:{new.id}:{k}@@" if k in new.secret_params else v) for k, v in new.params.items()}
    params.update({k: "" for k in old.params if k not in new.params})
    argv = [verb, "update", new.id, *_pairs(params)]
    for op in new.ops:
        argv += ["op", op.name, f"interval={op.interval}"] + ([f"timeout={op.timeout}"] if op.timeout else []) \
            + ([f"role={op.role}"] if op.role else [])
    meta = dict(new.meta)
    meta.update({k: "" for k in old.meta if k not in new.meta})
    if meta:
        argv += ["meta", *_pairs(meta)]
    argvs = [argv]
    if new.promotable and old.promotable and new.promotable != old.promotable:
        argvs.append(["resource", "meta", new.top_id, *_pairs(new.promotable.meta)])
    return argvs


class PcsResource(pulumi.dynamic.Resource, module="hastack", name="PcsResource"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PcsResourceProvider(), name, props, opts)
