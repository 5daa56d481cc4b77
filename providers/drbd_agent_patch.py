"""DrbdAgentPatch as a Pulumi resource: the adapter of hastack.resources.drbd_agent_patch."""
from hastack.resources import drbd_agent_patch
from providers.base import host_resource

DrbdAgentPatchProvider, DrbdAgentPatch = host_resource("DrbdAgentPatch", drbd_agent_patch, __name__)
