"""Fixtures of the unit tests that run the real program under Pulumi's mocks."""
from __future__ import annotations

import pulumi.dynamic
import pytest

from hastack.config.load import raw_config, stack_file, unseal
from hastack.resources import registry


@pytest.fixture()
def lab_raw():
    """The lab stack file; the hypervisors' host keys for the guests' fence known_hosts given here,
    since .lab/known_hosts exists only beside a running lab."""
    raw = unseal(raw_config(stack_file("lab")))
    keys = {a: [f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i}stand-in"] for i, a in enumerate(("10.77.0.21", "10.77.0.22"))}
    raw["guest"]["fencing"]["hypervisor_host_keys"] = keys
    return raw


@pytest.fixture()
def record(monkeypatch):
    """record(config) -> {resource name: (type, inputs as the provider gets them, names it depends on)}."""
    from commands.render import plain, record_stack

    real, depends = pulumi.dynamic.Resource.__init__, {}

    def init(self, provider, name, props, opts=None):
        depends[name] = [d._name for d in (opts.depends_on or [])] if opts else []
        real(self, provider, name, props, opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", init)

    def run(config) -> dict:
        depends.clear()
        recorded = ((registry.hastack_type(r.typ), r) for r in record_stack(config, "lab"))
        return {r.name: (t, plain(r.inputs), depends[r.name]) for t, r in recorded if t}
    return run
