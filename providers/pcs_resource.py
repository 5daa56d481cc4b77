"""PcsResource: a Pacemaker primitive, optionally cloned (the seed's DRBD clones are promotable).
What it is, its argv, its reading and its comparison: hastack/pacemaker/primitive.py."""
from __future__ import annotations

from hastack.pacemaker import primitive
from hastack.pacemaker.primitive import PrimitiveSpec
from providers.base import Props, dynamic_resource
from providers.cib_object import CibObjectProvider


class PcsResourceProps(Props, primitive.Primitive):
    pass


class PcsResourceProvider(CibObjectProvider):
    adopts_existing = True
    props_model = PcsResourceProps
    compare_fields = ("spec", "secret_values")

    def resource_id(self, props: PcsResourceProps) -> str:
        return props.spec.id

    def plan_create(self, props: PcsResourceProps):
        return primitive.plan_create(props)

    def plan_delete(self, props: PcsResourceProps):
        return primitive.plan_delete(props.spec)

    def plan_update(self, old: PcsResourceProps, new: PcsResourceProps):
        return primitive.plan_update(old, new)

    def diff(self, id_, olds, news):
        result = super().diff(id_, olds, news)
        if primitive.replaced(PrimitiveSpec.model_validate(olds["spec"]), PrimitiveSpec.model_validate(news["spec"])):
            result.replaces = ["spec"]
        return result

    def observe_cib(self, props: PcsResourceProps, cib_xml: str):
        return primitive.observe(props, cib_xml)


PcsResource = dynamic_resource("PcsResource", PcsResourceProvider)
