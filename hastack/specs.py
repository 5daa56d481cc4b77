"""What one Pacemaker object is, as data: the props of PcsResource, PcsConstraint, StonithDevice.

These are the single source from which pcs argv (render/pcs.py), drift checks (facts/cib.py) and
policies read, so what is previewed, rendered and applied cannot drift apart.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Op(Spec):
    name: str
    interval: str = "0s"
    timeout: str | None = None
    role: Literal["Promoted", "Unpromoted"] | None = None


class Promotable(Spec):
    """Clone meta of a promotable clone; the clone's id is `<primitive>-clone`."""

    meta: dict[str, str] = {
        "promoted-max": "1",
        "promoted-node-max": "1",
        "clone-max": "2",
        "clone-node-max": "1",
        "notify": "true",
    }


class PrimitiveSpec(Spec):
    id: str
    agent: str  # ocf:linbit:drbd, VirtualDomain, stonith:fence_ipmilan ...
    params: dict[str, str] = {}
    secret_params: tuple[str, ...] = Field(default=(), description="params whose values are secret")
    meta: dict[str, str] = {}
    ops: tuple[Op, ...] = ()
    promotable: Promotable | None = None
    disabled: bool = Field(default=False, description="created with target-role=Stopped")

    @property
    def is_stonith(self) -> bool:
        return self.agent.startswith("stonith:")

    @property
    def top_id(self) -> str:
        """The id constraints refer to: the clone for a promotable resource."""
        return f"{self.id}-clone" if self.promotable else self.id


class LocationSpec(Spec):
    kind: Literal["location"] = "location"
    id: str
    resource: str
    node: str
    score: str  # "100", "-INFINITY"


class ColocationSpec(Spec):
    kind: Literal["colocation"] = "colocation"
    id: str
    resource: str
    with_resource: str
    with_role: Literal["Promoted", "Unpromoted", "Started"] | None = None
    score: str = "INFINITY"


class OrderSpec(Spec):
    kind: Literal["order"] = "order"
    id: str
    first: str
    first_action: Literal["start", "promote", "demote", "stop"] = "start"
    then: str
    then_action: Literal["start", "promote", "demote", "stop"] = "start"


ConstraintSpec = LocationSpec | ColocationSpec | OrderSpec


class AlertSpec(Spec):
    id: str
    path: str
    recipients: tuple[tuple[str, str], ...] = ()
