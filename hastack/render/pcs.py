"""pcs argv builders (without the leading `pcs -f FILE`): one list per pcs command.

Secret parameter values never go on a command line: the argv carries `secret_placeholder(...)`
and the CIB session substitutes the real value into the edited XML (see hastack/cib.py).
"""
from __future__ import annotations

from hastack.specs import (
    AlertSpec,
    ColocationSpec,
    ConstraintSpec,
    LocationSpec,
    Op,
    OrderSpec,
    PrimitiveSpec,
)

Argv = list[str]

# Agents hastack ships itself are not installed where pcs -f runs, so pcs cannot read their
# metadata; the seed used --force for the same reason.  Everything else is validated by pcs.
CUSTOM_AGENTS = ("stonith:fence_pgrestart",)


def secret_placeholder(resource_id: str, param: str) -> str:
    return f"@@hastack-secret:{resource_id}:{param}@@"


def _pairs(values: dict[str, str]) -> Argv:
    return [f"{key}={value}" for key, value in sorted(values.items())]


def _op(op: Op) -> Argv:
    argv = [op.name, f"interval={op.interval}"]
    if op.timeout:
        argv.append(f"timeout={op.timeout}")
    if op.role:
        argv.append(f"role={op.role}")
    return argv


def primitive_create_argvs(spec: PrimitiveSpec) -> list[Argv]:
    params = {
        key: secret_placeholder(spec.id, key) if key in spec.secret_params else value
        for key, value in spec.params.items()
    }
    if spec.is_stonith:
        argv = ["stonith", "create", spec.id, spec.agent.removeprefix("stonith:")]
    else:
        argv = ["resource", "create", spec.id, spec.agent]
    argv += _pairs(params)
    for op in spec.ops:
        argv += ["op", *_op(op)]
    if spec.meta:
        argv += ["meta", *_pairs(spec.meta)]
    if spec.disabled:
        argv.append("--disabled")
    if spec.agent in CUSTOM_AGENTS:
        argv.append("--force")
    argvs = [argv]
    if spec.promotable:
        argvs.append(["resource", "promotable", spec.id, "meta", *_pairs(spec.promotable.meta)])
    return argvs


def primitive_delete_argvs(spec: PrimitiveSpec) -> list[Argv]:
    if spec.is_stonith:
        return [["stonith", "delete", spec.id]]
    return [["resource", "delete", spec.id]]


def constraint_create_argv(spec: ConstraintSpec) -> Argv:
    if isinstance(spec, LocationSpec):
        # `--` keeps a negative score such as -INFINITY from being read as an option.
        return ["constraint", "location", "add", spec.id, spec.resource, spec.node, "--", spec.score]
    if isinstance(spec, ColocationSpec):
        with_role = [spec.with_role] if spec.with_role else []
        return ["constraint", "colocation", "add", spec.resource, "with", *with_role,
                spec.with_resource, spec.score, f"id={spec.id}"]
    if isinstance(spec, OrderSpec):
        return ["constraint", "order", spec.first_action, spec.first, "then", spec.then_action,
                spec.then, f"id={spec.id}"]
    raise TypeError(spec)


def constraint_delete_argv(spec: ConstraintSpec) -> Argv:
    return ["constraint", "delete", spec.id]


def properties_argv(properties: dict[str, str]) -> Argv:
    return ["property", "set", *_pairs(properties)]


def properties_unset_argv(names: list[str]) -> Argv:
    return ["property", "unset", *sorted(names)]


def resource_defaults_argv(defaults: dict[str, str]) -> Argv:
    """`key=` (empty) removes a default, which is how update drops one."""
    return ["resource", "defaults", "update", *_pairs(defaults)]


def alert_create_argvs(spec: AlertSpec) -> list[Argv]:
    argvs = [["alert", "create", f"id={spec.id}", f"path={spec.path}"]]
    for recipient_id, value in spec.recipients:
        argvs.append(["alert", "recipient", "add", spec.id, f"value={value}", f"id={recipient_id}"])
    return argvs


def alert_delete_argv(spec: AlertSpec) -> Argv:
    return ["alert", "delete", spec.id]


def enable_argv(resource_id: str) -> Argv:
    return ["resource", "enable", resource_id]


def disable_argv(resource_id: str) -> Argv:
    return ["resource", "disable", resource_id]
