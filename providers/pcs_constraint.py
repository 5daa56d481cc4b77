"""PcsConstraint: a location, colocation (with roles) or order (with actions) constraint."""
from __future__ import annotations

from typing import Annotated, Union

import pulumi
import pulumi.dynamic
from pydantic import Field

from hastack.facts.cib import parse_constraint
from hastack.render.pcs import constraint_create_argv, constraint_delete_argv
from hastack.specs import ColocationSpec, LocationSpec, OrderSpec
from providers.base import Props
from providers.cib_object import CibObjectProvider, cib_plan


class PcsConstraintProps(Props):
    spec: Annotated[Union[LocationSpec, ColocationSpec, OrderSpec], Field(discriminator="kind")]


class PcsConstraintProvider(CibObjectProvider):
    adopts_existing = True
    props_model = PcsConstraintProps
    compare_fields = ("spec",)

    def resource_id(self, props):
        return props.spec.id

    def plan_create(self, props, facts=None):
        return cib_plan(constraint_create_argv(props.spec))

    def plan_delete(self, props):
        return cib_plan(constraint_delete_argv(props.spec))

    def plan_update(self, old, new):
        # Delete and add in one patch: the cluster never sees the constraint missing.
        return cib_plan(constraint_delete_argv(old.spec), constraint_create_argv(new.spec))

    def observe_cib(self, props, cib_xml):
        live = parse_constraint(cib_xml, props.spec.id)
        if live is None:
            return None
        wanted = props.spec.model_dump()
        return {} if all(wanted.get(k) == v for k, v in live.items()) else {"spec": {**wanted, **live}}


class PcsConstraint(pulumi.dynamic.Resource, module="hastack", name="PcsConstraint"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PcsConstraintProvider(), name, props, opts)
