"""SELinux policy modules: the .te text and the argv that compiles and installs it."""
from __future__ import annotations

import re

_MODULE = re.compile(r"^\s*module\s+([A-Za-z0-9_.-]+)\s+([0-9.]+)\s*;", re.M)


def te_module_name(te_text: str) -> tuple[str, str]:
    match = _MODULE.search(te_text)
    if not match:
        raise ValueError("no `module NAME VERSION;` line")
    return match.group(1), match.group(2)


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
