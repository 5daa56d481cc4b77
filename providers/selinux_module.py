"""SelinuxModule as a Pulumi resource: the adapter of hastack.resources.selinux_module."""
from __future__ import annotations

import pulumi

from hastack.reports import HastackError
from hastack.resources import selinux_module
from providers.base import HostProvider, dynamic_resource


class SelinuxModuleProvider(HostProvider):
    kind = selinux_module

    def create(self, props):
        try:
            return super().create(props)
        except HastackError as error:
            raise selinux_module.explain_failure(self._props(props), error) from None

    def created(self, props, transport_for):
        modes = selinux_module.selinux_modes(props, transport_for)
        warning = selinux_module.not_enforcing_warning(props, modes)
        if warning:
            pulumi.log.warn(warning)
        return {"selinux_mode": modes}


SelinuxModule = dynamic_resource("SelinuxModule", SelinuxModuleProvider)
