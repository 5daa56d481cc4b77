"""SELinux policy modules: where a module's files go on a host and the argv that compiles and installs it."""
from __future__ import annotations


def module_dir(name: str) -> str:
    return f"/var/lib/hastack/selinux/{name}"


def compile_argvs(name: str, directory: str) -> list[list[str]]:
    te, mod, pp = (f"{directory}/{name}.{ext}" for ext in ("te", "mod", "pp"))
    return [
        ["checkmodule", "-M", "-m", "-o", mod, te],
        ["semodule_package", "-o", pp, "-m", mod],
    ]


def install_argv(name: str, directory: str, priority: int) -> list[str]:
    return ["semodule", "-X", str(priority), "-i", f"{directory}/{name}.pp"]
