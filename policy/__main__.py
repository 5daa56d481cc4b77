"""hastack's policy pack: refuse unsafe clusters before they exist.

    pulumi preview --policy-pack policy [--policy-pack-config policy/<stack>.json]

Every rule is mandatory unless it only informs (failback allowed, DRBD 8.4 redundancy, a forced VM
stop, no database clients, a layer without an alert path); a stack may lower or raise any rule's
level, or set its options, in a pulumi-policy config file, e.g.
`{"drbd-two-paths": {"enforcementLevel": "advisory", "network_prefix": 16}}`.

The rules themselves are pure functions in `hastack.policy_rules`; this file only adapts the
engine's view (StackValidationArgs) to plain props.

Secretness.  The engine sends every analyzer the inputs with Pulumi's secret markers
(sdk/go/common/resource/plugin/analyzer_plugin.go marshals with KeepSecrets: true), but
pulumi-policy 1.21's Python `Analyze`/`AnalyzeStack` deserialize them with
`deserialize_properties(..., proxy_secrets=False)`, which unwraps each secret into its plain value;
only `Remediate` keeps them (as `pulumi_policy.Secret`).  A validation policy therefore cannot tell a
secret from plain text through the public API.  This pack replaces the module-level
`deserialize_properties` that `pulumi_policy.policy` calls with one that keeps each secret as a
`pulumi_policy.Secret` wrapper (the library's own type); every other value deserializes as before.
If a future pulumi-policy stops calling that function, `SECRETS_VISIBLE` stays False and the
secrets rule says it cannot verify instead of passing silently.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi_policy.deserialize as _deserialize  # noqa: E402
import pulumi_policy.policy as _policy  # noqa: E402
from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)

from pulumi_policy.proxy import UnknownValueError  # noqa: E402

from hastack import policy_rules  # noqa: E402
from hastack.resources import registry  # noqa: E402

SECRETS_VISIBLE = {"seen": False}
_original_deserialize = _deserialize.deserialize_properties


def _keep_secret(prop):
    if isinstance(prop, list):
        return [_keep_secret(p) for p in prop]
    if isinstance(prop, dict):
        if prop.get(_deserialize.SPECIAL_SIG_KEY) == _deserialize.SPECIAL_SECRET_SIG:
            return Secret(_keep_secret(prop["value"]))
        if _deserialize.SPECIAL_SIG_KEY in prop:
            return _deserialize._deserialize_property(prop)  # assets, archives: unchanged
        return {k: _keep_secret(v) for k, v in prop.items()}
    return prop


def _deserialize_keeping_secrets(props, proxy_secrets: bool = False):
    if proxy_secrets:  # Remediate: the library's own secret proxies
        return _original_deserialize(props, proxy_secrets)
    SECRETS_VISIBLE["seen"] = True
    return {k: _keep_secret(v) for k, v in props.items()}


if getattr(_policy, "deserialize_properties", None) is _original_deserialize:
    _policy.deserialize_properties = _deserialize_keeping_secrets


def _resources(args: StackValidationArgs):
    resources, secret_paths = [], {}
    for r in args.resources:
        if not r.resource_type.startswith(registry.TOKEN_PREFIX):
            continue
        props, paths, unknown = {}, set(), []
        for key in list(r.props.keys()):
            try:
                props[key], found = policy_rules.split_secrets(r.props[key], (key,), is_secret=lambda v: isinstance(v, Secret),
                                                               unwrap=lambda v: v.value)
            except UnknownValueError:
                # Made by a resource a preview has not created (a VM's host key and the seed made
                # from it): left out; no rule reads it, and the rules still run on the rest.
                unknown.append(key)
                continue
            paths |= found
        resources.append(policy_rules.Resource(policy_rules.short_type(r.resource_type), r.name, props, r.urn,
                                               tuple(unknown)))
        secret_paths[r.name] = paths
    return resources, secret_paths


def _policy_for(rule: policy_rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation):
        resources, secret_paths = _resources(args)
        options = dict(args.get_config() or {}) if hasattr(args, "get_config") else {}
        findings = policy_rules.run_rule(rule, resources, options, secret_paths if SECRETS_VISIBLE["seen"] else None)
        for finding in findings:
            where = f"[{finding.resource}] " if finding.resource else ""
            report_violation(f"{where}{finding.message}", finding.urn or None)

    schema = PolicyConfigSchema(properties=dict(rule.config)) if rule.config else None
    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY if rule.advisory else None,
        config_schema=schema,
    )


PolicyPack(
    name="hastack",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[_policy_for(rule) for rule in policy_rules.RULES],
)
