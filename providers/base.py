"""What every hastack dynamic provider shares.

A provider is stateless (nothing captured, nothing pickled but a class reference): each method
validates its props with the resource's pydantic model, asks the resource's pure functions for
a plan or a reading, and runs it through `hastack.apply`.  Connection details are an explicit
input (`nodes`); the transports are made from them in each method (`connect`, which a test
passes to the constructor instead).

`KindProvider` adapts a resource's core module, `kind`, of the shape hastack/resources/base.py
describes: a host resource's (hastack/resources/<name>.py, `HostProvider`) or a Pacemaker
object's (hastack/pacemaker/<kind>.py, `CibObjectProvider` in cib_object.py).  Its live state
is read into one `live` output, and `diff` compares what the config wants with it.
"""
from __future__ import annotations

import types
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import ValidationError
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from hastack.apply import apply_live
from hastack.resources.base import Live, Props, validate_props
from hastack.transport import node_transports


def transports(props: Props):
    return node_transports(props.nodes)


class KindProvider(ResourceProvider):
    """The Pulumi methods over a resource's core module, `kind`.

    Outputs are the inputs, plus `live` after a refresh: the typed live state, apart from the
    inputs.  `diff` is an update when a compared input changed or when `live` contradicts what
    the config wants (a replace only for a changed input in REPLACED, or what the kind's
    `replaces` names); `update` hands `live` to the plan.  Create and update record no `live`:
    what they applied is what the config says."""

    kind: ClassVar[types.ModuleType]
    # The pickled provider is a class reference: no secret, so Pulumi need not mark it as one.
    serialize_as_secret_always = False

    def __init__(self, connect=None):
        """CONNECT(props) -> transport_for; by default SSH to the props' nodes.  Only tests pass
        one: the instance is pickled into the state, where it must hold nothing."""
        super().__init__()
        if connect is not None:
            self.connect = connect

    def connect(self, props: Props):
        return transports(props)

    def resource_id(self, props: Props) -> str:
        return self.kind.resource_id(props)

    def plan_update(self, old: Props, new: Props, live: Live | None):
        return self.kind.plan_update(old, new, live)

    def plan_delete(self, props: Props):
        return self.kind.plan_delete(props)

    def observe(self, props: Props, transport_for) -> Live | None:
        return self.kind.observe(props, transport_for)

    def unrecorded_live(self, props: Props) -> Live | None:
        """The live state an update of a state without one gets, when that state described drift
        in its fields (older hastack): none here, as every host plan repairs without it."""
        return None

    # ---- the Pulumi methods -------------------------------------------------------------------
    def _props(self, raw: dict) -> Props:
        return validate_props(self.kind, raw)

    def _live(self, outs: dict) -> Live | None:
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
        on a node)"), or a value that does not validate ("{'node2': 25165824}" as a size, None
        for a deleted alert, "NODE (SCORE)" as a node name).  They are drift (an update), never
        a replace."""
        try:
            wanted = self._props(news).model_dump(mode="json")
        except ValidationError:
            return olds, False
        fixed = {f for f in self.kind.COMPARED if isinstance(olds.get(f), str) and isinstance(wanted.get(f), str)
                 and olds[f] != wanted[f] and olds[f].endswith(")")
                 and (olds[f].startswith("(") or olds[f].startswith(wanted[f] + " ("))}
        try:
            self._props({k: v for k, v in olds.items() if k not in fixed})
        except ValidationError as error:
            fixed |= {e["loc"][0] for e in error.errors() if e["loc"] and e["loc"][0] in wanted}
        clean = {k: v for k, v in olds.items() if k not in fixed} | {f: news[f] for f in fixed if f in news}
        return clean, bool(fixed)

    def check(self, _olds: dict, news: dict) -> CheckResult:
        # An input made by another resource not created yet (a preview) comes as an unknown Output:
        # checked once known, at `up`.
        unknown = {k for k, v in news.items() if _unknown(v)}
        try:
            self._props({k: v for k, v in news.items() if k not in unknown})
        except ValidationError as error:
            return CheckResult(news, [
                CheckFailure(".".join(str(p) for p in e["loc"]) or "props", e["msg"]) for e in error.errors()
                if not (e["loc"] and e["loc"][0] in unknown)
            ])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        olds, legacy_drift = self._as_configured(olds, news)
        changed = [f for f in self.kind.COMPARED if normalized(olds.get(f)) != normalized(news.get(f))]
        live = self._live(olds)
        drift = ()
        if live is not None and not changed:
            try:
                drift = self.kind.drifted(self._props(news), live)
            except ValidationError:
                pass  # check reports it
        replaces = []
        if changed or drift:
            replaces = [f for f in changed if f in self.kind.REPLACED]
            replaces += [f for f in getattr(self.kind, "replaces", lambda *a: ())(olds, news, live) if f not in replaces]
        return DiffResult(changes=bool(changed or drift or legacy_drift), replaces=replaces, stables=[],
                          delete_before_replace=True)

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        clean, legacy_drift = self._as_configured(olds, news)
        old, new = self._props(clean), self._props(news)
        live = self._live(olds)
        if live is None and legacy_drift:
            live = self.unrecorded_live(old)
        plan = self.plan_update(old, new, live)
        said = {}
        if plan:  # an empty plan only records the new inputs: no host is touched
            said = self.apply(plan, self.connect(new), new)
        return UpdateResult(outs={**news, **({"notes": said} if said else {})})

    def read(self, id_: str, props: dict) -> ReadResult:
        try:
            p = self._props(props)
        except ValidationError:
            # State of hastack before `live`, whose refresh wrote a description of drift into a
            # field: kept as it is until the next `up` puts that field back (_as_configured).
            return ReadResult(id_, dict(props))
        live = self.observe(p, self.connect(p))
        if live is None:
            return ReadResult(None, {})  # gone: refresh drops it, the next up recreates it
        kept = {k: v for k, v in props.items() if k not in ("live", *getattr(self.kind, "RETIRED", ()))}
        return ReadResult(id_, {**kept, "live": live.model_dump(mode="json")})

    def delete(self, _id: str, props: dict) -> None:
        p = self._props(props)
        self.apply(self.plan_delete(p), self.connect(p), p)

    def apply(self, plan, transport_for, props: Props) -> dict[str, list[str]]:
        """Run PLAN on the hosts; what its `Run(notes=True)` steps said (node -> lines), each line
        also shown by `up` (a skip is never silent)."""
        notes: list[tuple[str, str]] = []
        apply_live(plan, transport_for, notes)
        said: dict[str, list[str]] = {}
        for node, line in notes:
            if line in said.get(node, ()):
                continue  # two steps that skipped for the same reason: said once
            pulumi.log.info(f"{type(self).__name__.removesuffix('Provider')} {self.kind.resource_id(props)}: {node}: {line}")
            said.setdefault(node, []).append(line)
        return said


class HostProvider(KindProvider):
    """A host resource's provider: create looks first where the kind has `find`, and records the
    kind's OUTPUTS (`created`)."""

    def plan_create(self, props, found=None):
        return self.kind.plan_create(props, found)

    def create(self, props: dict) -> CreateResult:
        p = self._props(props)
        transport_for = self.connect(p)
        find = getattr(self.kind, "find", None)
        said = self.apply(self.kind.plan_create(p, find(p, transport_for) if find else None), transport_for, p)
        return CreateResult(self.kind.resource_id(p), outs={**props, **self.created(p, transport_for),
                                                            **({"notes": said} if said else {})})

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        if getattr(self.kind, "FIND_BEFORE_UPDATE", False):  # a check that guards every change, not only the first
            p = self._props(news)
            self.kind.find(p, self.connect(p))
        return super().update(id_, olds, news)

    def created(self, props: Props, transport_for) -> dict:
        """Outputs besides the inputs that a create records (the kind's OUTPUTS)."""
        return {}


def dynamic_resource(type_name: str, provider_class: type[ResourceProvider]) -> type[pulumi.dynamic.Resource]:
    """The resource class of `pulumi-python:dynamic/hastack:TYPE_NAME`, over PROVIDER_CLASS."""
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        pulumi.dynamic.Resource.__init__(self, provider_class(), name, props, opts)

    return types.new_class(type_name, (pulumi.dynamic.Resource,), {"module": "hastack", "name": type_name},
                           lambda ns: ns.update(__init__=__init__, __module__=provider_class.__module__))


def kind_resource(type_name: str, base: type[KindProvider], kind: types.ModuleType, module: str):
    """(provider class, resource class) over the core module KIND, the provider a BASE defined
    as if written in MODULE: the state pickles the provider by that name."""
    provider = type(f"{type_name}Provider", (base,), {"kind": kind, "__module__": module})
    return provider, dynamic_resource(type_name, provider)


def host_resource(type_name: str, kind: types.ModuleType, module: str):
    """(provider class, resource class) of a host resource's core module KIND."""
    return kind_resource(type_name, HostProvider, kind, module)


def _unknown(value: Any) -> bool:
    """A value a preview does not know yet (possibly a secret one)."""
    if rpc.is_rpc_secret(value):
        value = rpc.unwrap_rpc_secret(value)
    return isinstance(value, (pulumi.Output, Unknown))


def normalized(value: Any) -> Any:
    """Lists and tuples compare alike; dict key order never matters."""
    if isinstance(value, (list, tuple)):
        return [normalized(v) for v in value]
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in sorted(value.items())}
    return value
