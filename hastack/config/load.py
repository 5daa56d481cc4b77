"""Load and validate `Pulumi.<stack>.yaml` into a StackConfig, naming field, value and fix."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable, Mapping, get_args

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from hastack.config.models import StackConfig
from hastack.reports import ConfigError

NAMESPACE = "hastack"
KEYS = ("hypervisor", "vms", "guest", "drills", "monitoring")
# What a secret reads as when the stack's passphrase is not at hand (offline render, tests).
MASKED = "********"

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def raw_config(path: Path) -> dict[str, Any]:
    """The `hastack:*` keys of a stack file, exactly as written (secure values still encrypted)."""
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError("CONFIG_MISSING", f"no stack file {path.name}; create it or pick another --stack")
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise ConfigError("CONFIG_UNREADABLE", f"cannot read {path.name} ({type(error).__name__}: {why}): a stack "
                          "file is a UTF-8 text file")
    except yaml.YAMLError as error:
        raise ConfigError("CONFIG_YAML", f"{path.name} is not valid YAML: {_yaml_problem(error)}")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError("CONFIG_SHAPE", f"{path.name} holds a YAML {_kind(document)}, not a mapping: a stack file "
                          f"is a mapping with a `config` key (config: {{{NAMESPACE}:hypervisor: ..., ...}})")
    config = document.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError("CONFIG_SHAPE", f"{path.name}: `config` is a YAML {_kind(config)}, not a mapping: write "
                          f"its keys beneath it ({NAMESPACE}:hypervisor:, {NAMESPACE}:vms:, ...)")
    for key in config:
        namespace, _, name = str(key).partition(":")
        near = namespace.lower().startswith(NAMESPACE) or (
            difflib.SequenceMatcher(None, namespace.lower(), NAMESPACE).ratio() >= 0.8)
        if (near and namespace != NAMESPACE) or (namespace == NAMESPACE and not name):
            # Pulumi leaves other namespaces to other programs: hastack would never read this key.
            raise ConfigError("CONFIG_UNKNOWN_KEY", f"{path.name}: config key {key!r} is not in the {NAMESPACE}: "
                              f"namespace, so hastack would ignore it; write {NAMESPACE}:{name or '<key>'} "
                              f"({', '.join(NAMESPACE + ':' + k for k in KEYS)})")
    return {key.split(":", 1)[1]: value for key, value in config.items()
            if isinstance(key, str) and key.startswith(NAMESPACE + ":")}


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, but a key written twice in one mapping is an error (Pulumi refuses the file
    too): PyYAML keeps the last one, silently dropping the first setting."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: merged keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the constructor names it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping: keep one", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's problem and where it is, without the quoted line (it may hold a secret)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "cannot parse it"
    context = getattr(error, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return where + (f"{context}: " if context else "") + problem


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "scalar")


def unseal(value: Any, decrypt: Callable[[str], str] | None = None) -> Any:
    """Replace every `{secure: ...}` with its plaintext (decrypt given) or with MASKED."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return decrypt(value["secure"]) if decrypt else MASKED
        return {k: unseal(v, decrypt) for k, v in value.items()}
    if isinstance(value, list):
        return [unseal(v, decrypt) for v in value]
    return value


def validate(raw: Mapping[str, Any], source: str = "config") -> StackConfig:
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(
            "CONFIG_UNKNOWN_KEY",
            f"{source}: unknown key(s) {', '.join(NAMESPACE + ':' + k for k in unknown)}; "
            f"hastack reads {', '.join(NAMESPACE + ':' + k for k in KEYS)}",
        )
    try:
        config = StackConfig.model_validate(dict(raw))
    except ValidationError as error:
        raise ConfigError("CONFIG_INVALID", format_validation_error(error, source)) from None
    _check_sources(config, source)
    return config


def _check_sources(config: StackConfig, source: str) -> None:
    """The files the config names that render reads (SELinux policy sources) exist."""
    layers = [("hypervisor", config.hypervisor)] + ([("guest", config.guest)] if config.guest else [])
    for layer, cluster in layers:
        for i, module in enumerate(cluster.selinux_modules):
            if not (PROJECT_ROOT / module.source).is_file():
                raise ConfigError("CONFIG_FILE_MISSING", f"{source}: {NAMESPACE}:{layer}.selinux_modules[{i}].source: "
                                  f"{module.source} is no file (relative to the project root); give the module's .te "
                                  "file there, or remove the module")


def load_stack(stack: str, root: Path = PROJECT_ROOT, decrypt: Callable[[str], str] | None = None) -> StackConfig:
    path = stack_file(stack, root)
    return validate(unseal(raw_config(path), decrypt), path.name)


def load_stack_with_secrets(stack: str, root: Path = PROJECT_ROOT) -> StackConfig:
    """The stack's config with its secrets, decrypted by the Pulumi CLI (the stack's passphrase
    must be at hand); for commands that act on hosts outside `pulumi up` (drills)."""
    import json
    import subprocess

    process = subprocess.run(["pulumi", "config", "--stack", stack, "--show-secrets", "--json"], cwd=root,
                             capture_output=True, text=True)
    if process.returncode != 0:
        raise ConfigError("CONFIG_SECRETS", f"`pulumi config --stack {stack}` failed (is the stack's passphrase "
                          f"set?): {process.stderr.strip()[-500:]}")
    values = {key.split(":", 1)[1]: entry.get("objectValue", entry.get("value"))
              for key, entry in json.loads(process.stdout).items() if key.startswith(NAMESPACE + ":")}
    return validate(values, stack_file(stack, root).name)


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: {error.error_count()} problem(s)"]
    for item in error.errors(include_url=False):
        where = _location(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        value = item.get("input")
        if _is_secret(item["loc"]) and item["type"] != "missing":
            # Never echo a secret, not even one mistyped as a number.
            command = f"`pulumi config set --secret --path '{NAMESPACE}:{where}' <value>`"
            shown = (f"; set its value encrypted: {command}" if item["type"] == "value_error"
                     else f" (value not shown: it is a secret); quote it and keep it encrypted: {command}")
        elif item["type"] == "extra_forbidden":
            # Not echoed: a misspelt secret field (`passwd:`) would print the secret.
            shown = _nearest_field(item["loc"])
        elif isinstance(value, (dict, list)) or item["type"] == "missing":
            shown = ""
        else:
            shown = f" (got {value!r})"
        lines.append(f"  {NAMESPACE}:{where}: {message}{shown}" if where else f"  {message}")
    return "\n".join(lines)


def _secret_fields(model: type[BaseModel] = StackConfig, seen: set | None = None) -> frozenset[str]:
    """Names of every SecretStr field reachable from the model (password, private_key)."""
    seen = set() if seen is None else seen
    names: set[str] = set()

    def walk(annotation) -> bool:
        if annotation is SecretStr:
            return True
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.add(annotation)
                names.update(_secret_fields(annotation, seen))
            return False
        return any([walk(arg) for arg in get_args(annotation)])

    for name, info in model.model_fields.items():
        if walk(info.annotation):
            names.add(name)
    return frozenset(names)


SECRET_FIELDS = _secret_fields()


def _nearest_field(loc: tuple) -> str:
    """For a key the model does not have: the field names it may be a misspelling of."""
    model, names = StackConfig, [part for part in loc[:-1] if isinstance(part, str)]
    for name in names:
        info = model.model_fields.get(name) if model else None
        model = _model_of(info.annotation) if info else None
    if not model:
        return ""
    known = sorted(model.model_fields)
    near = difflib.get_close_matches(str(loc[-1]), known, n=3, cutoff=0.6)
    return (f"; did you mean {' or '.join(repr(n) for n in near)}?" if near
            else f"; {_location(loc[:-1]) or 'this level'} takes {', '.join(known)}")


def _model_of(annotation) -> type[BaseModel] | None:
    """The model a field holds, itself or inside a tuple or an Optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_of, get_args(annotation)) if m), None)


def _is_secret(loc: tuple) -> bool:
    named = [part for part in loc if isinstance(part, str) and not part.startswith(("function-", "tagged-union"))]
    return bool(named) and named[-1] in SECRET_FIELDS


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith(("function-", "tagged-union")):
            out += ("." if out else "") + str(part)
    return out
