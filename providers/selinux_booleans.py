"""SelinuxBooleans as a Pulumi resource: the adapter of hastack.resources.selinux_booleans."""
from hastack.resources import selinux_booleans
from providers.base import host_resource

SelinuxBooleansProvider, SelinuxBooleans = host_resource("SelinuxBooleans", selinux_booleans, __name__)
