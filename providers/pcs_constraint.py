"""PcsConstraint: a location, colocation (with roles) or order (with actions) constraint.
What it is, its argv, its reading and its comparison: hastack/pacemaker/constraint.py."""
from __future__ import annotations

from hastack.pacemaker import constraint
from providers.base import Props, dynamic_resource
from providers.cib_object import CibObjectProvider


class PcsConstraintProps(Props, constraint.Constraint):
    pass


class PcsConstraintProvider(CibObjectProvider):
    adopts_existing = True
    props_model = PcsConstraintProps
    compare_fields = ("spec",)

    def resource_id(self, props):
        return props.spec.id

    def plan_create(self, props):
        return constraint.plan_create(props.spec)

    def plan_delete(self, props):
        return constraint.plan_delete(props.spec)

    def plan_update(self, old, new):
        return constraint.plan_update(old.spec, new.spec)

    def observe_cib(self, props, cib_xml):
        return constraint.observe(props.spec, cib_xml)


PcsConstraint = dynamic_resource("PcsConstraint", PcsConstraintProvider)
