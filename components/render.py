"""`python -m hastack render`: the real program under Pulumi's mocks, its providers' plans written
into a directory instead of run over SSH.  Same config, same components, same plan functions as
`pulumi up`, so the render cannot drift from what is applied.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pulumi
from pulumi.runtime.mocks import MockResourceArgs, Mocks, run_pulumi_func, _sync_await

from pulumi.runtime.rpc import _special_secret_sig as _SECRET_SIG
from pulumi.runtime.rpc import _special_sig_key as _SIG_KEY

from hastack.apply import apply_render
from hastack.config.models import StackConfig
from providers.corosync_cluster import CorosyncClusterProvider
from providers.drbd_agent_patch import DrbdAgentPatchProvider
from providers.drbd_resource import DrbdResourceProvider
from providers.libvirt_domain import LibvirtDomainProvider
from providers.logical_volume import LogicalVolumeProvider
from providers.pcs_cluster_config import PcsClusterConfigProvider
from providers.pcs_constraint import PcsConstraintProvider
from providers.pcs_resource import PcsResourceProvider
from providers.pcs_resource_enable import PcsResourceEnableProvider
from providers.remote_file import RemoteFileProvider
from providers.selinux_module import SelinuxModuleProvider
from providers.stonith_device import StonithDeviceProvider
from providers.system_account import SystemAccountProvider
from providers.systemd_unit import SystemdUnitProvider

# Provider per type token, and the order in which a fresh stack's plans apply: the engine's own
# order follows dependencies; the rank reproduces it deterministically for the render.
PROVIDERS = {
    "CorosyncCluster": (CorosyncClusterProvider, 0),
    "PcsClusterConfig": (PcsClusterConfigProvider, 1),
    "SystemAccount": (SystemAccountProvider, 1),
    "SystemdUnit": (SystemdUnitProvider, 1),
    "RemoteFile": (RemoteFileProvider, 2),
    "SelinuxModule": (SelinuxModuleProvider, 2),
    "DrbdAgentPatch": (DrbdAgentPatchProvider, 2),
    "StonithDevice": (StonithDeviceProvider, 3),
    "LogicalVolume": (LogicalVolumeProvider, 4),
    "DrbdResource": (DrbdResourceProvider, 5),
    "LibvirtDomain": (LibvirtDomainProvider, 6),
    "PcsResource": (PcsResourceProvider, 7),
    "PcsConstraint": (PcsConstraintProvider, 8),
    "PcsResourceEnable": (PcsResourceEnableProvider, 9),
}


class RecordingMocks(Mocks):
    def __init__(self):
        self.resources: list[MockResourceArgs] = []

    def new_resource(self, args: MockResourceArgs):
        self.resources.append(args)
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
        props, paths = policy_rules.split_secrets(
            r.inputs, is_secret=lambda v: isinstance(v, dict) and v.get(_SIG_KEY) == _SECRET_SIG,
            unwrap=lambda v: v["value"])
        resources.append(policy_rules.Resource(type_name(r.typ), r.name, props))
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


def type_name(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def render(config: StackConfig, stack: str, out: Path) -> list[str]:
    """Write every artefact of the stack under `out`; returns the resources rendered, in order."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    recorded = [r for r in record_stack(config, stack) if type_name(r.typ) in PROVIDERS]
    ordered = sorted(recorded, key=lambda r: (PROVIDERS[type_name(r.typ)][1], r.name))
    done, cibs = [], {}
    for resource in ordered:
        provider_class, _rank = PROVIDERS[type_name(resource.typ)]
        provider = provider_class()
        props = provider._props(plain(resource.inputs))
        apply_render(provider.plan_create(props), out, props.layer, cibs)
        done.append(f"{type_name(resource.typ)} {resource.name}")
    for file_cib in cibs.values():
        file_cib.flush()
    (out / "resources.json").write_text(json.dumps(done, indent=1) + "\n")
    return done
