"""What every hastack dynamic provider shares.

A provider is stateless (nothing captured, nothing pickled but a class reference): each method
validates its props with the resource's pydantic model, asks the resource's pure functions for
a plan or a reading, and runs it through `hastack.apply`.  Connection details are an explicit
input (`nodes`); the transports are made from them in each method (`connect`, which a test
passes to the constructor instead).

`HostProvider` adapts a host resource's core module (hastack/resources/<name>.py): its live
state is read into one `live` output, and `diff` compares what the config wants with it.
`HastackProvider` is the shape of the CIB providers, whose live reading is still written into
the props fields.
"""
from __future__ import annotations

import types
from typing import Any, ClassVar

import pulumi.dynamic
from pydantic import ValidationError
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from hastack.apply import apply_live
from hastack.plan import Plan
from hastack.reports import HastackError
from hastack.resources.base import Props
from hastack.transport import node_transports


def transports(props: Props):
    return node_transports(props.nodes)


class HastackProvider(ResourceProvider):
    """Subclasses set `props_model`, `compare_fields`, `replace_fields` and implement
    `plan_create`, `plan_delete`, `plan_update` and `observe` (the live value of each compared
    field, or None when the object is gone)."""

    props_model: ClassVar[type[Props]]
    compare_fields: ClassVar[tuple[str, ...]] = ()
    replace_fields: ClassVar[tuple[str, ...]] = ()
    # The pickled provider is a class reference: no secret, so Pulumi need not mark it as one.
    serialize_as_secret_always = False
    # Create takes over an object that already exists exactly as configured, and refuses one that
    # differs (`pulumi import` cannot work for dynamic providers: pulumi/pulumi#16175).
    adopts_existing: ClassVar[bool] = False

    def __init__(self, connect=None):
        """CONNECT(props) -> transport_for; by default SSH to the props' nodes.  Only tests pass
        one: the instance is pickled into the state, where it must hold nothing."""
        super().__init__()
        if connect is not None:
            self.connect = connect

    def connect(self, props: Props):
        return transports(props)

    # ---- to implement -------------------------------------------------------------------------
    def resource_id(self, props: Props) -> str:
        raise NotImplementedError

    def plan_create(self, props: Props) -> Plan:
        raise NotImplementedError

    def plan_delete(self, props: Props) -> Plan:
        raise NotImplementedError

    def plan_update(self, old: Props, new: Props) -> Plan:
        return self.plan_delete(old) + self.plan_create(new)

    def observe(self, props: Props, transport_for) -> dict | None:
        raise NotImplementedError

    # ---- the Pulumi methods -------------------------------------------------------------------
    def _props(self, raw: dict) -> Props:
        clean = {k: v for k, v in raw.items() if not k.startswith("__") and k not in ("observed",)}
        return self.props_model.model_validate(clean)

    def check(self, _olds: dict, news: dict) -> CheckResult:
        try:
            self._props(news)
        except ValidationError as error:
            return CheckResult(news, [
                CheckFailure(".".join(str(p) for p in e["loc"]) or "props", e["msg"]) for e in error.errors()
            ])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = [f for f in self.compare_fields if _norm(olds.get(f)) != _norm(news.get(f))]
        replaces = [f for f in changed if f in self.replace_fields]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)

    def create(self, props: dict) -> CreateResult:
        p = self._props(props)
        transport_for = self.connect(p)
        try:
            apply_live(self.plan_create(p), transport_for)
        except HastackError as create_error:
            # Looked at only when the create failed (its CIB edit is all or nothing), so a create
            # that succeeds costs no extra query.  If the look fails too, the create's error stands.
            if not self.adopts_existing:
                raise
            try:
                adopted = self._adopted(p, transport_for)
            except HastackError as error:
                if error.code == "EXISTS_DIFFERENT":
                    raise
                raise create_error from None
            if not adopted:
                raise
        return CreateResult(self.resource_id(p), outs=dict(props))

    def _adopted(self, p: Props, transport_for) -> bool:
        """True when the object exists as configured (nothing to do); False when it does not
        exist (the create's own error stands); EXISTS_DIFFERENT when it exists otherwise: hastack
        never overwrites an object it did not create."""
        observed = self.observe(p, transport_for)
        if observed is None:
            return False
        if observed:
            wanted = p.model_dump(mode="json")
            differences = "; ".join(
                f"{field}: differs (secret)" if field.startswith("secret") else
                f"{field}: live {_norm(value)!r}, configured {_norm(wanted.get(field))!r}"
                for field, value in observed.items())
            raise HastackError("EXISTS_DIFFERENT", (
                f"{self.resource_id(p)} already exists on the {p.layer} cluster and differs from the "
                f"config ({differences}). hastack adopts an existing object only when it matches: make "
                "the config describe it (the next `up` adopts it, then changes it as configured) or "
                "remove it from the cluster by hand."))
        return True

    def _old_props(self, olds: dict, news: dict) -> Props:
        """The olds of an update.  After a refresh, a field whose live value differed holds a
        description of the drift (read's outs, shown by preview), not a value: such a field is
        taken as configured, so the update puts that field back as the config says."""
        try:
            return self._props(olds)
        except ValidationError as error:
            drifted = {e["loc"][0] for e in error.errors() if e["loc"] and e["loc"][0] in news}
            if not drifted:
                raise
            return self._props({**olds, **{field: news[field] for field in drifted}})

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self._old_props(olds, news), self._props(news)
        apply_live(self.plan_update(old, new), self.connect(new))
        return UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict) -> ReadResult:
        p = self._props(props)
        observed = self.observe(p, self.connect(p))
        if observed is None:
            return ReadResult(None, {})  # gone: refresh drops it, the next up recreates it
        outs = dict(props)
        outs.update(observed)
        return ReadResult(id_, outs)

    def delete(self, _id: str, props: dict) -> None:
        p = self._props(props)
        apply_live(self.plan_delete(p), self.connect(p))


class HostProvider(HastackProvider):
    """The Pulumi methods over a host resource's core module, `kind` (see hastack/resources/base.py).

    Outputs are the inputs, plus `live` after a refresh: the typed live state, apart from the
    inputs.  `diff` is an update when a compared input changed or when `live` contradicts what
    the config wants (a replace only for a changed input in REPLACED); `update` hands `live` to
    the plan.  Create and update record no `live`: what they applied is what the config says."""

    kind: ClassVar[types.ModuleType]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            cls.props_model, cls.compare_fields, cls.replace_fields = cls.kind.PROPS, cls.kind.COMPARED, cls.kind.REPLACED

    def resource_id(self, props):
        return self.kind.resource_id(props)

    def plan_create(self, props, found=None):
        return self.kind.plan_create(props, found)

    def plan_delete(self, props):
        return self.kind.plan_delete(props)

    def _props(self, raw: dict) -> Props:
        dropped = ("live", *getattr(self.kind, "OUTPUTS", ()), *getattr(self.kind, "RETIRED", ()))
        return super()._props({k: v for k, v in raw.items() if k not in dropped})

    def _live(self, outs: dict):
        """The live state recorded in OUTS (by the last refresh); None when there is none."""
        if outs.get("live") is not None:
            try:
                return self.kind.LIVE.model_validate(outs["live"])
            except ValidationError:
                return None  # recorded by another version of hastack: as if not read
        legacy = getattr(self.kind, "legacy_live", None)
        return legacy(outs) if legacy else None

    def _as_configured(self, olds: dict, news: dict) -> tuple[dict, bool]:
        """OLDS with each field that holds a description of drift instead of a value taken as
        configured, and whether there was one.  hastack before `live` wrote them into the state
        on refresh: a string in parentheses, or the value followed by one ("fence-agent (missing
        on a node)"), or a value that does not validate ("{'node2': 25165824}" as a size).  They
        are drift (an update), never a replace."""
        try:
            wanted = self._props(news).model_dump(mode="json")
        except ValidationError:
            return olds, False
        fixed = {f for f in self.compare_fields if isinstance(olds.get(f), str) and isinstance(wanted.get(f), str)
                 and olds[f] != wanted[f] and olds[f].endswith(")")
                 and (olds[f].startswith("(") or olds[f].startswith(wanted[f] + " ("))}
        try:
            self._props({k: v for k, v in olds.items() if k not in fixed})
        except ValidationError as error:
            fixed |= {e["loc"][0] for e in error.errors() if e["loc"] and e["loc"][0] in wanted}
        clean = {k: v for k, v in olds.items() if k not in fixed} | {f: news[f] for f in fixed if f in news}
        return clean, bool(fixed)

    def diff(self, id_: str, olds: dict, news: dict) -> DiffResult:
        olds, legacy_drift = self._as_configured(olds, news)
        result = super().diff(id_, olds, news)
        result.changes = result.changes or legacy_drift
        live = self._live(olds)
        if live is not None and not result.changes:
            try:
                wanted = self._props(news)
            except ValidationError:
                return result  # check reports it
            result.changes = bool(self.kind.drifted(wanted, live))
        return result

    def create(self, props: dict) -> CreateResult:
        p = self._props(props)
        transport_for = self.connect(p)
        find = getattr(self.kind, "find", None)
        apply_live(self.kind.plan_create(p, find(p, transport_for) if find else None), transport_for)
        return CreateResult(self.kind.resource_id(p), outs={**props, **self.created(p, transport_for)})

    def created(self, props: Props, transport_for) -> dict:
        """Outputs besides the inputs that a create records (the kind's OUTPUTS)."""
        return {}

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self._props(self._as_configured(olds, news)[0]), self._props(news)
        plan = self.kind.plan_update(old, new, self._live(olds))
        if plan:  # an empty plan only records the new inputs: no host is touched
            apply_live(plan, self.connect(new))
        return UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict) -> ReadResult:
        try:
            p = self._props(props)
        except ValidationError:
            # State of hastack before `live`, whose refresh wrote a description of drift into a
            # field: kept as it is until the next `up` puts that field back (_as_configured).
            return ReadResult(id_, dict(props))
        live = self.kind.observe(p, self.connect(p))
        if live is None:
            return ReadResult(None, {})  # gone: refresh drops it, the next up recreates it
        kept = {k: v for k, v in props.items() if k not in ("live", *getattr(self.kind, "RETIRED", ()))}
        return ReadResult(id_, {**kept, "live": live.model_dump(mode="json")})


def dynamic_resource(type_name: str, provider_class: type[ResourceProvider]) -> type[pulumi.dynamic.Resource]:
    """The resource class of `pulumi-python:dynamic/hastack:TYPE_NAME`, over PROVIDER_CLASS."""
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        pulumi.dynamic.Resource.__init__(self, provider_class(), name, props, opts)

    return types.new_class(type_name, (pulumi.dynamic.Resource,), {"module": "hastack", "name": type_name},
                           lambda ns: ns.update(__init__=__init__, __module__=provider_class.__module__))


def host_resource(type_name: str, kind: types.ModuleType, module: str):
    """(provider class, resource class) of a host resource's core module KIND, defined as if
    written in MODULE: the state pickles the provider by that name."""
    provider = type(f"{type_name}Provider", (HostProvider,), {"kind": kind, "__module__": module})
    return provider, dynamic_resource(type_name, provider)


def _norm(value: Any) -> Any:
    """Lists and tuples compare alike; dict key order never matters."""
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in sorted(value.items())}
    return value
