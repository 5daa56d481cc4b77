"""The config reference (docs/config-reference.md), rendered from the models themselves.

Every model reachable from StackConfig gets a section: where it sits in a stack file, its
docstring, one row per field (type, default, bounds, description) and the rules its validators
check across fields (their docstrings).  The named field types (Identifier, Duration, ...) are
explained once, in TYPES; a validator the table does not know fails `render_config_reference`, so
a new rule cannot go undocumented.
"""
from __future__ import annotations

import enum
import inspect
import ipaddress
import types
import json
import typing
from dataclasses import dataclass

import annotated_types
from pydantic import AfterValidator, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from hastack.config import models

COMMAND = "python -m hastack config-reference"
PATH = "docs/config-reference.md"


@dataclass(frozen=True)
class NamedType:
    name: str
    alias: object  # the Annotated alias in models.py
    rule: str


TYPES = (
    NamedType("identifier", models.Identifier, "2-32 characters of `a-z`, `0-9` and `-`, starting with a letter and "
              "not ending with `-` (it becomes a file, device, libvirt and Pacemaker name)"),
    NamedType("host name", models.HostName, "the host's `uname -n`: lower-case labels of `a-z`, `0-9` and `-`, "
              "separated by dots, at most 253 characters"),
    NamedType("size", models.Size, "a whole number with `M`, `G` or `T`, e.g. `40G`"),
    NamedType("package name", models.PackageName, "a package name only (letters, digits, `._+:~-`), no option"),
    NamedType("unit name", models.UnitName, "a systemd unit name (letters, digits, `:_.@-`), e.g. `pcsd`"),
    NamedType("duration", models.Duration, "Pacemaker's duration syntax: a whole number with `ms`, `s`, `m`, `min` "
              "or `h`; a bare number is seconds"),
    NamedType("op timeout", models.OpTimeout, "a duration from 1s to 1h: under 1 s every operation fails (a failed "
              "stop fences the node), over 1 h a hung operation holds up recovery"),
    NamedType("token ms", models.TokenMs, "milliseconds, 1000 to 60000: under 1 s a busy host misses the token and "
              "is fenced, over 1 min a dead node goes unnoticed that long"),
    NamedType("secret", models.Secret, "not empty; give it with `pulumi config set --secret`; its value is never "
              "printed, not even in an error"),
    NamedType("private key", models.PrivateKey, "a secret, as `secret`; stored with one final newline, as OpenSSH "
              "needs its key files"),
    NamedType("one-line secret", models.OneLineSecret, "a secret, as `secret`, without control characters (no "
              "newline): it is written as one setting of a config file"),
    NamedType("resource agent", models.ResourceAgent, "`ocf:<provider>:<type>`, `systemd:<unit>`, `service:<name>`, "
              "`lsb:<name>`, or a bare type of `ocf:heartbeat`; never a `stonith:` agent"),
    NamedType("cluster properties", models.ClusterProperties, "a mapping of cluster property names Pacemaker 2.1 "
              "knows to their values (an unknown name is refused, the nearest known one suggested)"),
    NamedType("nft base chain", models.BaseChain, "`<family> <table> <chain>` of nftables, family `inet` or `ip`, "
              "each name of letters, digits, `_` and `-` (Debian's is `inet filter input`)"),
    NamedType("meta-attributes", models.ResourceDefaults, "a mapping of resource meta-attribute names Pacemaker 2.1 "
              "knows to their values (an unknown name is refused, the nearest known one suggested)"),
)
_BY_VALIDATORS = {tuple(m.func for m in typing.get_args(t.alias)[1:] if isinstance(m, AfterValidator)): t
                  for t in TYPES}
_PLAIN = {str: "string", int: "integer", bool: "boolean", ipaddress.IPv4Address: "IPv4 address",
          ipaddress.IPv4Network: "IPv4 subnet", ipaddress.IPv4Interface: "IPv4 address/prefix", SecretStr: "secret"}


def _validators(metadata) -> tuple:
    return tuple(m.func for m in metadata if isinstance(m, AfterValidator))


def _bounds(metadata) -> list[str]:
    out = []
    for m in metadata:
        if isinstance(m, FieldInfo):
            out += _bounds(m.metadata)
        elif isinstance(m, annotated_types.Ge):
            out.append(f"≥ {m.ge}")
        elif isinstance(m, annotated_types.Le):
            out.append(f"≤ {m.le}")
        elif getattr(m, "pattern", None):
            out.append(f"matches `{m.pattern}`")
    return out


def _named(validators: tuple, where: str) -> NamedType | None:
    if not validators:
        return None
    named = _BY_VALIDATORS.get(validators)
    if named is None:
        raise ValueError(f"{where}: validators {[v.__qualname__ for v in validators]} are not in "
                         "hastack.config.reference.TYPES; add the type and its rule there")
    return named


def _anchor(name: str) -> str:
    return name.lower().replace(" ", "-")


def type_text(annotation, metadata=(), where: str = "") -> str:
    """A field's type in words, models linked to their sections, named types to TYPES."""
    named = _named(_validators(metadata), where)
    if named:
        return f"[{named.name}](#{_anchor(named.name)})"
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        inner_meta = [x for e in extra for x in (e.metadata if isinstance(e, FieldInfo) else [e])]
        if inner is int and _bounds(inner_meta) == ["≥ 1", "≤ 65535"]:
            return "port"
        return type_text(inner, inner_meta, where)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        return " or ".join(type_text(a, (), where) for a in kept) + (", optional" if len(kept) < len(args) else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_text(args[0], (), where)}"
        return "[" + ", ".join(type_text(a, (), where) for a in args) + "]"
    if origin is dict:
        return f"mapping of {type_text(args[0], (), where)} to {type_text(args[1], (), where)}"
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{_anchor(annotation.__name__)})"
    if annotation in _PLAIN:
        return _PLAIN[annotation]
    raise ValueError(f"{where}: no words for the type {annotation!r} in hastack.config.reference")


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None or isinstance(field.default, BaseModel):
        return "its defaults"
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "none"
    value = to_jsonable_python(field.default)
    return f"`{value}`" if isinstance(value, str) else f"`{json.dumps(value)}`"


def _models_in(annotation) -> list[type[BaseModel]]:
    found, stack = [], [annotation]
    while stack:
        t = stack.pop(0)
        if inspect.isclass(t) and issubclass(t, BaseModel):
            found.append(t)
        stack += [a for a in typing.get_args(t) if not isinstance(a, FieldInfo)]
    return found


def model_paths(root: type[BaseModel] = models.StackConfig) -> dict[type[BaseModel], list[str]]:
    """Every model reachable from root, in the order a stack file reads, with its paths in one."""
    paths: dict[type[BaseModel], list[str]] = {root: ["config"]}
    queue = [(root, None)]
    while queue:
        model, prefix = queue.pop(0)
        for name, field in model.model_fields.items():
            key = f"hastack:{name}" if prefix is None else f"{prefix}.{name}"
            if typing.get_origin(field.annotation) is tuple and typing.get_args(field.annotation)[-1] is Ellipsis:
                key += "[]"
            for child in _models_in(field.annotation):
                if child not in paths:
                    paths[child] = []
                    queue.append((child, key))
                paths[child].append(key)
    return paths


def _cell(text: str) -> str:
    """One table cell: on one line, `|` escaped, and `<...>` outside code spans shown, not read as HTML."""
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for i, part in enumerate(parts))


def _doc(model) -> str:
    return " ".join((inspect.getdoc(model) or "").split())


def _rules(model: type[BaseModel]) -> list[str]:
    decorators = model.__pydantic_decorators__
    found = [*decorators.model_validators.values(), *decorators.field_validators.values()]
    return [" ".join(d.func.__doc__.split()) for d in found if d.func.__doc__]


def render_config_reference() -> str:
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated by `{COMMAND}` from hastack/config/models.py: edit the models, not this file. -->",
        f"Generated by `{COMMAND}` from the models in `hastack/config/models.py`; a unit test fails when "
        "this file and the models differ.",
        "",
        "A stack file `Pulumi.<stack>.yaml` holds these keys under `config:`; `hastack:hypervisor` and `hastack:vms` "
        "are required. The models are strict: an unknown key is refused, and so is any value outside the bounds "
        "below, naming the field, the value and the fix, before any host is touched. `Pulumi.lab5.yaml` is a "
        "complete example.",
        "",
        "## Types",
        "",
        "| type | what it accepts |",
        "|---|---|",
        *(f"| <a id=\"{_anchor(t.name)}\"></a>{t.name} | {_cell(t.rule)} |" for t in TYPES),
        "| port | an integer from 1 to 65535 |",
        "",
    ]
    for model, paths in model_paths().items():
        lines += [f"## {model.__name__}", "", "At " + ", ".join(f"`{p}`" for p in paths) + ".", ""]
        if _doc(model):
            lines += [_cell(_doc(model)), ""]
        lines += ["| field | type | default | bounds | description |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            where = f"{model.__name__}.{name}"
            lines.append(f"| `{name}` | {_cell(type_text(field.annotation, field.metadata, where))} | "
                         f"{_cell(default_text(field))} | {_cell(', '.join(_bounds(field.metadata)))} | "
                         f"{_cell(field.description or '')} |")
        rules = _rules(model)
        if rules:
            lines += ["", "Across fields:", *(f"- {_cell(r)}" for r in rules)]
        lines.append("")
    return "\n".join(lines)
