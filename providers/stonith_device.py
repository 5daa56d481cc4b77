"""StonithDevice: a fence device and the location that keeps it off the node it fences, in one
CIB patch.  What it is, its argv, its reading and its comparison: hastack/pacemaker/stonith.py."""
from hastack.pacemaker import stonith
from providers.cib_object import cib_resource

StonithDeviceProvider, StonithDevice = cib_resource("StonithDevice", stonith, __name__)
