"""`python -m hastack render`: the real program under Pulumi's mocks, its providers' plans written
into a directory instead of run over SSH.  Same config, same components, same plan functions as
`pulumi up`, so the render cannot drift from what is applied.
"""
from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pulumi
from pulumi.runtime.mocks import MockResourceArgs, Mocks, run_pulumi_func, _sync_await

from pulumi.runtime.rpc import _special_secret_sig as _SECRET_SIG
from pulumi.runtime.rpc import _special_sig_key as _SIG_KEY

from hastack.apply import apply_render
from hastack.config.models import StackConfig
from hastack.resources import registry


def provider_class(type_name: str):
    """The provider of a registered type: providers.<module>.<Type>Provider."""
    return getattr(importlib.import_module(f"providers.{registry.module_name(type_name)}"), f"{type_name}Provider")


class RecordingMocks(Mocks):
    def __init__(self):
        self.resources: list[MockResourceArgs] = []

    def new_resource(self, args: MockResourceArgs):
        self.resources.append(args)
        type_name = registry.hastack_type(args.typ)
        if type_name in registry.STATE_TYPES:  # made in the state, no host: render's stand-in outputs
            kind = importlib.import_module(f"hastack.resources.{registry.module_name(type_name)}")
            props = kind.PROPS.model_validate(
                {k: v for k, v in args.inputs.items() if k not in kind.OUTPUTS and not k.startswith("__")})
            return args.name + "-id", {**args.inputs, **kind.rendered(props, args.name)}
        return args.name + "-id", dict(args.inputs)

    def call(self, args):
        return {}


def record_stack(config: StackConfig, stack: str) -> list[MockResourceArgs]:
    """Run build_stack under mocks; return every registered resource with its resolved inputs."""
    from components.stack import build_stack

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="hastack", stack=stack, preview=False)
    _sync_await(run_pulumi_func(lambda: build_stack(config)))
    return mocks.resources


def policy_resources(config: StackConfig, stack: str):
    """The stack's hastack resources as the policy pack sees them under `pulumi preview`: short
    type, name and inputs, with the paths Pulumi marked secret (policy_rules.split_secrets)."""
    from hastack import policy_rules

    resources, secret_paths = [], {}
    for r in record_stack(config, stack):
        if not r.typ.startswith(registry.TOKEN_PREFIX):
            continue  # components and other providers' resources: the pack's adapter passes none
        props, paths = policy_rules.split_secrets(
            r.inputs, is_secret=lambda v: isinstance(v, dict) and v.get(_SIG_KEY) == _SECRET_SIG,
            unwrap=lambda v: v["value"])
        resources.append(policy_rules.Resource(policy_rules.short_type(r.typ), r.name, props))
        secret_paths[r.name] = paths
    return resources, secret_paths


def plain(value):
    """Inputs as a dynamic provider receives them: the engine strips secret markers first."""
    if isinstance(value, dict):
        if _SIG_KEY in value and value.get(_SIG_KEY) == _SECRET_SIG:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def render(config: StackConfig, stack: str, out: Path) -> list[str]:
    """Write every artefact of the stack under `out`; returns the resources rendered, in order."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    recorded = [(registry.hastack_type(r.typ), r) for r in record_stack(config, stack)]
    ordered = sorted(((t, r) for t, r in recorded if t), key=lambda tr: (registry.RANK[tr[0]], tr[1].name))
    done, cibs = [], {}
    for type_name, resource in ordered:
        provider = provider_class(type_name)()
        props = provider._props(plain(resource.inputs))
        apply_render(provider.plan_create(props), out, props.layer, cibs)
        done.append(f"{type_name} {resource.name}")
    for file_cib in cibs.values():
        file_cib.flush()
    (out / "resources.json").write_text(json.dumps(done, indent=1) + "\n")
    return done
