"""SelinuxModule: compile a .te on the host and install it at a priority; remove on delete.

On a host whose SELinux is disabled or permissive the module still goes into the policy store
(so it is in force the day the host enforces), and the `selinux_mode` output says which it was.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hastack.plan import Put, Run
from hastack.render.selinux import compile_argvs, install_argv, module_dir
from hastack.reports import HastackError
from hastack.resources.base import Live, Props, digest, on_each_node


class SelinuxModuleProps(Props):
    name: str
    te: str
    priority: int = 300


class ModuleState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    installed: bool
    source_sha256: str | None = None  # of the .te hastack compiled it from; None: not there


class SelinuxModuleLive(Live):
    modules: dict[str, ModuleState]  # node -> the module there


PROPS, LIVE = SelinuxModuleProps, SelinuxModuleLive
COMPARED = ("name", "te", "priority")
REPLACED = ("name", "priority")
OUTPUTS = ("selinux_mode",)  # node -> `getenforce` when the module was installed


def resource_id(props: SelinuxModuleProps) -> str:
    return props.name


def source_path(name: str) -> str:
    return f"{module_dir(name)}/{name}.te"


# ---- probes: the installed modules and their source; the host's SELinux mode ----------------------
SEMODULE_LIST = ("semodule", "-l")


def parse_module_list(stdout: str) -> set[str]:
    return set(stdout.split())


GETENFORCE = ("sh", "-c", "getenforce 2>/dev/null || echo Disabled")


def parse_getenforce(stdout: str) -> str:
    return stdout.strip()


def observe(props: SelinuxModuleProps, transport_for) -> SelinuxModuleLive | None:
    modules = {}
    for node in props.nodes:
        host = transport_for(node.name)
        if props.name not in parse_module_list(host.run(list(SEMODULE_LIST)).stdout):
            modules[node.name] = ModuleState(installed=False)
            continue
        source = host.read(source_path(props.name))
        modules[node.name] = ModuleState(installed=True, source_sha256=None if source is None else digest(source))
    if not any(m.installed for m in modules.values()):
        return None
    return SelinuxModuleLive(modules=modules)


def drifted(props: SelinuxModuleProps, live: SelinuxModuleLive) -> tuple[str, ...]:
    wanted = digest(props.te)
    return ("te",) if any(not m.installed or m.source_sha256 != wanted for m in live.modules.values()) else ()


def selinux_modes(props: SelinuxModuleProps, transport_for) -> dict[str, str]:
    return {n.name: parse_getenforce(transport_for(n.name).run(list(GETENFORCE)).stdout) for n in props.nodes}


def not_enforcing_warning(props: SelinuxModuleProps, modes: dict[str, str]) -> str | None:
    lax = [node for node, mode in modes.items() if mode != "Enforcing"]
    return (f"SELinux module {props.name} installed into the policy store, but SELinux is not enforcing on "
            f"{', '.join(lax)}") if lax else None


def explain_failure(props: SelinuxModuleProps, error: HastackError) -> HastackError:
    """checkmodule's words for a type the host's policy lacks, said in hastack's."""
    if "Failed to resolve" in error.message:
        return HastackError("SELINUX_POLICY_MISMATCH", f"module {props.name} needs types this host's policy does not "
                            "define (the seed's modules were written for RHEL's targeted policy; Debian's reference "
                            "policy has no cluster_t, for one): " + error.message)
    return error


# ---- plans ---------------------------------------------------------------------------------------
def plan_create(props: SelinuxModuleProps, found=None):
    directory = module_dir(props.name)
    steps = [Run(("mkdir", "-p", directory)), Put(source_path(props.name), props.te.encode())]
    steps += [Run(tuple(argv)) for argv in compile_argvs(props.name, directory)]
    steps.append(Run(tuple(install_argv(props.name, directory, props.priority))))
    return on_each_node(props, *steps)


def plan_update(old: SelinuxModuleProps, new: SelinuxModuleProps, live: SelinuxModuleLive | None):
    return plan_create(new)


def plan_delete(props: SelinuxModuleProps):
    script = 'semodule -l | grep -qx -- "$1" || exit 0; semodule -X "$2" -r "$1"'
    return on_each_node(props, Run(("sh", "-c", script, "sh", props.name, str(props.priority))))
