"""PcsResourceEnable: lets a resource that was created disabled start, once its constraints exist.
What it is, its reading and its comparison: hastack/pacemaker/enable.py."""
from hastack.pacemaker import enable
from providers.cib_object import cib_resource

PcsResourceEnableProvider, PcsResourceEnable = cib_resource("PcsResourceEnable", enable, __name__)
