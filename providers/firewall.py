"""Firewall as a Pulumi resource: the adapter of hastack.resources.firewall."""
from hastack.resources import firewall
from providers.base import host_resource

FirewallProvider, Firewall = host_resource("Firewall", firewall, __name__)
