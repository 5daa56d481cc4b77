"""Shared shape of providers whose object lives in the CIB: plans are single CibEdits, and the
live reading comes from one `cibadmin --query` on any node."""
from __future__ import annotations

from hastack.cib import LiveCib
from hastack.plan import CLUSTER, CibEdit, Plan, on
from providers.base import HastackProvider, Props


def cib_plan(*commands, secrets: dict[str, str] | None = None) -> Plan:
    return on(CLUSTER, CibEdit(tuple(tuple(c) for c in commands), dict(secrets or {})))


class CibObjectProvider(HastackProvider):
    def observe(self, props: Props, transport_for) -> dict | None:
        return self.observe_cib(props, LiveCib(transport_for(CLUSTER)).configuration())

    def observe_cib(self, props: Props, cib_xml: str) -> dict | None:
        raise NotImplementedError
