"""OcfHelperLinks as a Pulumi resource: the adapter of hastack.resources.ocf_helper_links."""
from hastack.resources import ocf_helper_links
from providers.base import host_resource

OcfHelperLinksProvider, OcfHelperLinks = host_resource("OcfHelperLinks", ocf_helper_links, __name__)
