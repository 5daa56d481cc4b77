"""SelinuxModule: compile a .te on the host and install it at a priority; remove on delete.

On a host whose SELinux is disabled or permissive the module still goes into the policy store
(so it is in force the day the host enforces), and the `selinux_mode` output says which it was.
"""
from __future__ import annotations

import pulumi
import pulumi.dynamic

from hastack.plan import Put, Run, on
from hastack.render.selinux import compile_argvs, install_argv, module_dir
from hastack.reports import HastackError
from providers.base import HastackProvider, Props


class SelinuxModuleProps(Props):
    name: str
    te: str
    priority: int = 300


class SelinuxModuleProvider(HastackProvider):
    props_model = SelinuxModuleProps
    compare_fields = ("name", "te", "priority")
    replace_fields = ("name", "priority")

    def resource_id(self, props):
        return props.name

    def plan_create(self, props, facts=None):
        directory = module_dir(props.name)
        steps = [Run(("mkdir", "-p", directory)), Put(f"{directory}/{props.name}.te", props.te.encode())]
        steps += [Run(tuple(argv)) for argv in compile_argvs(props.name, directory)]
        steps.append(Run(tuple(install_argv(props.name, directory, props.priority))))
        return tuple(s for n in props.nodes for s in on(n.name, *steps))

    def plan_update(self, old, new):
        return self.plan_create(new)

    def plan_delete(self, props):
        script = 'semodule -l | grep -qx -- "$1" || exit 0; semodule -X "$2" -r "$1"'
        return tuple(s for n in props.nodes for s in on(n.name, Run(("sh", "-c", script, "sh", props.name, str(props.priority)))))

    def observe(self, props, transport_for):
        drift, present = {}, 0
        for node in props.nodes:
            t = transport_for(node.name)
            listed = t.run(["semodule", "-l"]).stdout.split()
            if props.name not in listed:
                drift["te"] = f"(not installed on {node.name})"
                continue
            present += 1
            source = t.read(f"{module_dir(props.name)}/{props.name}.te")
            if source is None or source.decode() != props.te:
                drift["te"] = f"(installed source differs on {node.name})"
        return None if present == 0 else drift

    def create(self, props):
        try:
            result = super().create(props)
        except HastackError as error:
            if "Failed to resolve" in error.message:
                raise HastackError("SELINUX_POLICY_MISMATCH", f"module {props['name']} needs types this host's policy "
                                   "does not define (the seed's modules were written for RHEL's targeted policy; "
                                   "Debian's reference policy has no cluster_t, for one): " + error.message) from None
            raise
        p = self._props(props)
        from providers.base import transports

        modes = {n.name: transports(p)(n.name).run(["sh", "-c", "getenforce 2>/dev/null || echo Disabled"]).stdout.strip()
                 for n in p.nodes}
        if any(mode != "Enforcing" for mode in modes.values()):
            pulumi.log.warn(f"SELinux module {p.name} installed into the policy store, but SELinux is not "
                            f"enforcing on {', '.join(k for k, v in modes.items() if v != 'Enforcing')}")
        result.outs["selinux_mode"] = modes
        return result


class SelinuxModule(pulumi.dynamic.Resource, module="hastack", name="SelinuxModule"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(SelinuxModuleProvider(), name, props, opts)
