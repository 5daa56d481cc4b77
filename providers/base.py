"""What every hastack dynamic provider shares.

A provider is stateless (nothing captured, nothing pickled but a class reference): each method
validates its props with the resource's pydantic model, asks the resource's pure functions for
a plan or a reading, and runs it over SSH through `hastack.apply`.  Connection details are an
explicit input (`nodes`), so the provider never keeps clients or keys.
"""
from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from hastack.apply import apply_live
from hastack.plan import CLUSTER, Plan
from hastack.reports import HastackError
from hastack.transport import UNREACHABLE, Transport


class NodeRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    ssh: dict[str, Any]


class Props(BaseModel):
    """Base of every provider's props: the layer it belongs to and the nodes it acts on."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    layer: str
    nodes: tuple[NodeRef, ...]


def transports(props: Props):
    from hastack.transport.ssh import SshTarget, SshTransport  # paramiko only where SSH is used

    by_name = {n.name: SshTransport.pooled(SshTarget.from_props(n.name, n.ssh)) for n in props.nodes}

    cluster = FailoverTransport(list(by_name.values()))

    def transport_for(target: str) -> Transport:
        return cluster if target == CLUSTER else by_name[target]

    return transport_for


class FailoverTransport:
    """Any member can take a CIB query or patch: use the first node that can be reached, and
    move on to the next only when a node cannot be reached at all (never after a command ran)."""

    def __init__(self, members: list):
        self.members = members
        self.name = "/".join(m.name for m in members)

    def _call(self, method: str, *args, **kwargs):
        errors = []
        # Prefer a member that answers now; wait (connect_wait) only when none does.
        answering = [m for m in self.members if getattr(m, "reachable", lambda: True)()]
        for member in answering or self.members:
            try:
                return getattr(member, method)(*args, **kwargs)
            except HastackError as error:
                if error.code not in UNREACHABLE:
                    raise
                errors.append(str(error))
        raise HastackError("CLUSTER_UNREACHABLE", "no cluster node could be reached: " + "; ".join(errors))

    def run(self, argv, stdin=None, **kwargs):
        return self._call("run", argv, stdin, **kwargs)

    def put(self, path, content, mode=0o644):
        return self._call("put", path, content, mode)

    def read(self, path):
        return self._call("read", path)


def digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


class HastackProvider(ResourceProvider):
    """Subclasses set `props_model`, `compare_fields`, `replace_fields` and implement
    `plan_create`, `plan_delete`, `plan_update` and `observe` (the live value of each compared
    field, or None when the object is gone)."""

    props_model: ClassVar[type[Props]]
    compare_fields: ClassVar[tuple[str, ...]] = ()
    replace_fields: ClassVar[tuple[str, ...]] = ()
    # Props stored as-is but never compared (connection details, labels).
    serialize_as_secret_always = False
    # Create takes over an object that already exists exactly as configured, and refuses one that
    # differs (`pulumi import` cannot work for dynamic providers: pulumi/pulumi#16175).
    adopts_existing: ClassVar[bool] = False

    # ---- to implement -------------------------------------------------------------------------
    def resource_id(self, props: Props) -> str:
        raise NotImplementedError

    def plan_create(self, props: Props, facts: dict | None = None) -> Plan:
        raise NotImplementedError

    def plan_delete(self, props: Props) -> Plan:
        raise NotImplementedError

    def plan_update(self, old: Props, new: Props) -> Plan:
        return self.plan_delete(old) + self.plan_create(new)

    def observe(self, props: Props, transport_for) -> dict | None:
        raise NotImplementedError

    def probe(self, props: Props, transport_for) -> dict:
        """Facts that shape the create plan (e.g. does metadata exist); none by default."""
        return {}

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
        transport_for = transports(p)
        try:
            apply_live(self.plan_create(p, self.probe(p, transport_for)), transport_for)
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
        apply_live(self.plan_update(old, new), transports(new))
        return UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict) -> ReadResult:
        p = self._props(props)
        observed = self.observe(p, transports(p))
        if observed is None:
            return ReadResult(None, {})  # gone: refresh drops it, the next up recreates it
        outs = dict(props)
        outs.update(observed)
        return ReadResult(id_, outs)

    def delete(self, _id: str, props: dict) -> None:
        p = self._props(props)
        apply_live(self.plan_delete(p), transports(p))


def _norm(value: Any) -> Any:
    """Lists and tuples compare alike; dict key order never matters."""
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in sorted(value.items())}
    return value
