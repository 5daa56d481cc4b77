"""A Pacemaker primitive and its clone, plain or promotable (pcs/lib/cib/resource/primitive.py
and clone.py): the spec, the pcs argv that create, update, enable, disable and delete it, its
reading from a CIB in the spec's own shape, what of it hastack compares, and the resource
PcsResource manages (props, live state, plans).

Secret parameter values never go on a command line: the argv carries `secret_placeholder(...)`
and the CIB session fills the real value into the edited XML (hastack/cib.py).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_serializer, model_validator

from hastack.pacemaker.common import Argv, Spec, cib_plan, cib_root, is_true, nvpairs, pairs
from hastack.plan import CLUSTER, Plan, Run, on
from hastack.resources.base import Live, Props

# Agents hastack ships itself are not installed where pcs -f runs, so pcs cannot read their
# metadata; the seed used --force for the same reason.  Everything else is validated by pcs.
CUSTOM_AGENTS = ("stonith:fence_pgrestart",)
ROLES = {"Master": "Promoted", "Slave": "Unpromoted"}  # the names before Pacemaker 2.1


class Op(Spec):
    name: str
    interval: str = "0s"
    timeout: str | None = None
    role: Literal["Promoted", "Unpromoted", "Started", "Stopped"] | None = None


class Promotable(Spec):
    """Clone meta of a promotable clone; the clone's id is `<primitive>-clone`."""

    meta: dict[str, str] = {
        "promoted-max": "1",
        "promoted-node-max": "1",
        "clone-max": "2",
        "clone-node-max": "1",
        "notify": "true",
    }


class Clone(Spec):
    """Clone meta of a plain (not promotable) clone; its id is `<primitive>-clone` too."""

    meta: dict[str, str] = {}


class PrimitiveSpec(Spec):
    id: str
    agent: str  # ocf:linbit:drbd, VirtualDomain, stonith:fence_ipmilan ...
    params: dict[str, str] = {}
    secret_params: tuple[str, ...] = Field(default=(), description="params whose values are secret")
    meta: dict[str, str] = {}
    ops: tuple[Op, ...] = ()
    promotable: Promotable | None = None
    clone: Clone | None = None
    disabled: bool = Field(default=False, description="created with target-role=Stopped")

    @model_validator(mode="after")
    def _one_clone(self) -> "PrimitiveSpec":
        if self.promotable and self.clone:
            raise ValueError(f"{self.id}: a clone is either promotable or plain: set promotable or clone, not both")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_clone(self, handler):
        # A primitive without a plain clone keeps the props it had before `clone` existed.
        data = handler(self)
        if self.clone is None:
            data.pop("clone", None)
        return data

    @property
    def is_stonith(self) -> bool:
        return self.agent.startswith("stonith:")

    @property
    def cloned(self) -> Promotable | Clone | None:
        return self.promotable or self.clone

    @property
    def top_id(self) -> str:
        """The id constraints refer to: the clone's for a cloned primitive."""
        return clone_id(self.id) if self.cloned else self.id

    @property
    def agent_type(self) -> str:
        return agent_type(self.agent)

    @property
    def qualified_agent(self) -> str:
        # pcs resolves a bare agent name; the ones hastack uses all live in ocf:heartbeat.
        return self.agent if ":" in self.agent else f"ocf:heartbeat:{self.agent}"


def agent_type(agent: str) -> str:
    """The agent without class and provider: ocf:heartbeat:VirtualDomain -> VirtualDomain."""
    return agent.rsplit(":", 1)[-1]


def clone_id(primitive_id: str) -> str:
    return f"{primitive_id}-clone"


# ---- pcs argv -----------------------------------------------------------------------------------
def secret_placeholder(resource_id: str, param: str) -> str:
    return f"@@hastack-secret:{resource_id}:{param}@@"


def _params(spec: PrimitiveSpec) -> dict[str, str]:
    return {key: secret_placeholder(spec.id, key) if key in spec.secret_params else value
            for key, value in spec.params.items()}


def _op(op: Op) -> Argv:
    argv = ["op", op.name, f"interval={op.interval}"]
    if op.timeout:
        argv.append(f"timeout={op.timeout}")
    if op.role:
        argv.append(f"role={op.role}")
    return argv


def _meta(values: dict[str, str]) -> Argv:
    return ["meta", *pairs(values)] if values else []


def create_argvs(spec: PrimitiveSpec) -> list[Argv]:
    if spec.is_stonith:
        argv = ["stonith", "create", spec.id, spec.agent.removeprefix("stonith:")]
    else:
        argv = ["resource", "create", spec.id, spec.agent]
    argv += pairs(_params(spec))
    for op in spec.ops:
        argv += _op(op)
    argv += _meta(spec.meta)
    if spec.disabled:
        argv.append("--disabled")
    if spec.agent in CUSTOM_AGENTS:
        argv.append("--force")
    argvs = [argv]
    if spec.promotable:
        argvs.append(["resource", "promotable", spec.id, *_meta(spec.promotable.meta)])
    if spec.clone:
        argvs.append(["resource", "clone", spec.id, *_meta(spec.clone.meta)])
    return argvs


def update_argvs(old: PrimitiveSpec, new: PrimitiveSpec) -> list[Argv]:
    """In place, from OLD (what the CIB holds: `held`): `pcs resource|stonith update` for params,
    meta and ops (`key=` drops one), the clone's meta apart.  The agent, the id and the kind of
    clone are replaced instead (`replaced`)."""
    params = {**_params(new), **{k: "" for k in old.params if k not in new.params}}
    argv = ["stonith" if new.is_stonith else "resource", "update", new.id, *pairs(params)]
    for op in new.ops:
        argv += _op(op)
    argv += _meta({**new.meta, **{k: "" for k in old.meta if k not in new.meta}})
    if new.agent in CUSTOM_AGENTS:
        argv.append("--force")  # pcs checks the agent's metadata on update too
    argvs = [argv]
    if old.cloned and new.cloned and old.cloned != new.cloned:
        argvs.append(["resource", "meta", new.top_id, *pairs(new.cloned.meta)])
    return argvs


def delete_argvs(spec: PrimitiveSpec) -> list[Argv]:
    return [["stonith" if spec.is_stonith else "resource", "delete", spec.id]]


def enable_argv(resource_id: str) -> Argv:
    return ["resource", "enable", resource_id]


def disable_argv(resource_id: str) -> Argv:
    return ["resource", "disable", resource_id]


# ---- reading from a CIB -------------------------------------------------------------------------
def read(cib_xml: str, primitive_id: str) -> PrimitiveSpec | None:
    """The live primitive with every op and meta attribute the CIB holds; None if absent."""
    return next((p for p in read_all(cib_xml) if p.id == primitive_id), None)


def read_all(cib_xml: str) -> list[PrimitiveSpec]:
    return [_read(child, parent) for parent in cib_root(cib_xml).iter() for child in parent if child.tag == "primitive"]


def _read(primitive, parent) -> PrimitiveSpec:
    a = primitive.attrib
    agent = f"stonith:{a.get('type')}" if a.get("class") == "stonith" else \
        ":".join(x for x in (a.get("class"), a.get("provider"), a.get("type")) if x)
    ops = tuple(Op(name=op.get("name"), interval=op.get("interval", "0s"), timeout=op.get("timeout"),
                   role=ROLES.get(op.get("role"), op.get("role"))) for op in primitive.iter("op"))
    promotable = clone = None
    if parent.tag in ("clone", "master"):
        meta = nvpairs(parent.find("meta_attributes"))
        if is_true(meta.pop("promotable", "false")) or parent.tag == "master":
            promotable = Promotable(meta=meta)
        else:
            clone = Clone(meta=meta)
    return PrimitiveSpec(id=a.get("id"), agent=agent, params=nvpairs(primitive.find("instance_attributes")),
                         meta=nvpairs(primitive.find("meta_attributes")), ops=ops, promotable=promotable, clone=clone)


# ---- what is compared ---------------------------------------------------------------------------
def _op_key(op: Op) -> tuple:
    return op.name, op.interval, op.role or ""


def managed(wanted: PrimitiveSpec, live: PrimitiveSpec) -> PrimitiveSpec:
    """The live primitive as far as hastack manages it: the ops it configures (pcs adds default
    ones), no target-role (PcsResourceEnable's), no secret params (they are not read back)."""
    keys = {_op_key(op) for op in wanted.ops}
    return wanted.model_copy(update={
        "agent": wanted.agent if live.qualified_agent == wanted.qualified_agent else live.agent,
        "params": {k: v for k, v in live.params.items() if k not in wanted.secret_params},
        "meta": {k: v for k, v in live.meta.items() if k != "target-role"},
        "ops": tuple(sorted((op for op in live.ops if _op_key(op) in keys), key=_op_key)),
        "promotable": live.promotable, "clone": live.clone,
    })


def _compared(spec: PrimitiveSpec) -> tuple:
    return (spec.qualified_agent, {k: v for k, v in spec.params.items() if k not in spec.secret_params},
            {k: v for k, v in spec.meta.items() if k != "target-role"}, tuple(sorted(spec.ops, key=_op_key)),
            spec.promotable, spec.clone)


def replaced(old: PrimitiveSpec, new: PrimitiveSpec) -> bool:
    """Another id, agent or kind of clone is another object; everything else updates in place."""
    return (old.id, old.qualified_agent, bool(old.promotable), bool(old.clone)) != \
        (new.id, new.qualified_agent, bool(new.promotable), bool(new.clone))


# ---- the resource PcsResource (the shape of hastack/resources/base.py, read from a CIB) ---------
class Primitive(Spec):
    """A primitive with the values of its secret params (fence passwords): never on a command
    line, never in clear in state."""

    spec: PrimitiveSpec
    secret_values: dict[str, str] = {}

    def secrets(self) -> dict[str, str]:
        return {secret_placeholder(self.spec.id, k): v for k, v in self.secret_values.items()}


class PcsResourceProps(Props, Primitive):
    pass


class PcsResourceLive(Live):
    spec: PrimitiveSpec  # as the CIB holds it, as far as hastack manages it (`managed`)


PROPS, LIVE = PcsResourceProps, PcsResourceLive
COMPARED, REPLACED = ("spec", "secret_values"), ()
ADOPTS_EXISTING = True  # a primitive that exists as configured is taken over by create


def resource_id(obj: Primitive) -> str:
    return obj.spec.id


def observe(obj: Primitive, cib_xml: str) -> PcsResourceLive | None:
    live = read(cib_xml, obj.spec.id)
    return None if live is None else PcsResourceLive(spec=managed(obj.spec, live))


def drifted(obj: Primitive, live: PcsResourceLive) -> tuple[str, ...]:
    return ("spec",) if _compared(live.spec) != _compared(obj.spec) else ()


def replaces(olds: dict, news: dict, live: PcsResourceLive | None) -> tuple[str, ...]:
    """("spec",) when the wanted primitive is another object (`replaced`) than the state's or
    the live one.  Over the engine's dicts: only `spec` need be there."""
    new = PrimitiveSpec.model_validate(news["spec"])
    held = [PrimitiveSpec.model_validate(olds["spec"]), *([live.spec] if live else [])]
    return ("spec",) if any(replaced(spec, new) for spec in held) else ()


def held(old: PrimitiveSpec, live: PcsResourceLive | None) -> PrimitiveSpec:
    """What the CIB holds as far as an update must know it: the last refresh's reading (with the
    old secret params, which are not read back), or else the old spec."""
    if live is None:
        return old
    return live.spec.model_copy(update={"params": {
        **live.spec.params, **{k: v for k, v in old.params.items() if k in old.secret_params}}})


def settle(timeout_s: int = 300) -> Plan:
    return on(CLUSTER, Run(("crm_resource", "--wait", f"--timeout={timeout_s}s")))


def cleanup(spec: PrimitiveSpec) -> Plan:
    """After a definition changes, past failures of the old one no longer count: a start that
    timed out under the old timeout must not keep the fixed resource banned from a node."""
    return on(CLUSTER, Run(("crm_resource", "--cleanup", "--resource", spec.top_id)))


def plan_create(obj: Primitive) -> Plan:
    return cib_plan(*create_argvs(obj.spec), secrets=obj.secrets())


def plan_update(old: Primitive, new: Primitive, live: PcsResourceLive | None) -> Plan:
    return cib_plan(*update_argvs(held(old.spec, live), new.spec), secrets=new.secrets()) + cleanup(new.spec)


def plan_delete(obj: Primitive) -> Plan:
    # Stopped while still defined: a running resource removed is an orphan, stopped without its meta.
    spec = obj.spec
    return plan_disable(spec.top_id) + settle() + cib_plan(*delete_argvs(spec)) + settle()


# ---- enabling and disabling (PcsResourceEnable: enable.py) --------------------------------------
def plan_enable(resource_id: str) -> Plan:
    return cib_plan(enable_argv(resource_id))


def plan_disable(resource_id: str) -> Plan:
    return cib_plan(disable_argv(resource_id))
