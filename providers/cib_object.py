"""Shared shape of providers whose object lives in the CIB: plans are CibEdits (built in
hastack/pacemaker/), and the live reading comes from one `cibadmin --query` on any node."""
from __future__ import annotations

from hastack.cib import LiveCib
from hastack.plan import CLUSTER
from providers.base import HastackProvider, Props


class CibObjectProvider(HastackProvider):
    def observe(self, props: Props, transport_for) -> dict | None:
        return self.observe_cib(props, LiveCib(transport_for(CLUSTER)).configuration())

    def observe_cib(self, props: Props, cib_xml: str) -> dict | None:
        raise NotImplementedError
