"""PcsResource: a Pacemaker primitive, optionally cloned (the seed's DRBD clones are promotable).
What it is, its argv, its reading and its comparison: hastack/pacemaker/primitive.py."""
from hastack.pacemaker import primitive
from providers.cib_object import cib_resource

PcsResourceProvider, PcsResource = cib_resource("PcsResource", primitive, __name__)
