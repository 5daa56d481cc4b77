"""What every Pacemaker object module shares: the spec base, argv pieces, the reading of
nvpairs, Pacemaker's scores and booleans, and the one plan shape of a CIB object."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from hastack.plan import CLUSTER, CibEdit, Plan, on

Argv = list[str]
INFINITY = 1_000_000  # Pacemaker's score of INFINITY


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# An id or a node name as Pacemaker holds it: never blank space or parentheses.  (So what older
# hastack wrote into such a field after a refresh, "NODE (SCORE)", is not a value of it.)
Name = Annotated[str, Field(pattern=r"^[^\s()]*$")]


def from_props(model: type[Spec], props: dict) -> Spec:
    """The model's own fields out of a resource's props (which also carry layer and nodes)."""
    return model.model_validate({k: v for k, v in props.items() if k in model.model_fields})


def pairs(values: dict[str, str]) -> Argv:
    return [f"{key}={value}" for key, value in sorted(values.items())]


def cib_root(cib_xml: str) -> ET.Element:
    return ET.fromstring(cib_xml)


def nvpairs(element: ET.Element | None) -> dict[str, str]:
    if element is None:
        return {}
    return {nv.get("name"): nv.get("value") for nv in element.iter("nvpair")}


def is_true(value) -> bool:
    """Pacemaker's reading of a boolean (crm_is_true)."""
    return str(value).strip().lower() in ("true", "on", "yes", "y", "1")


def score_value(score) -> int:
    text = str(score).strip().upper()
    if text in ("INFINITY", "+INFINITY"):
        return INFINITY
    if text == "-INFINITY":
        return -INFINITY
    return int(text)


def cib_plan(*commands: Argv, secrets: dict[str, str] | None = None) -> Plan:
    """pcs commands as one CIB patch of the cluster (one CibEdit)."""
    return on(CLUSTER, CibEdit(tuple(tuple(c) for c in commands), dict(secrets or {})))
