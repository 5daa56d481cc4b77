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


# A shell test, true where SELinux is on (enforcing or permissive): libselinux's `selinuxenabled`,
# which looks for a mounted selinuxfs.  Disabled or absent (Debian's default: no libselinux tools,
# no /sys/fs/selinux), hastack's SELinux steps skip and say so.
SELINUX_ON = "command -v selinuxenabled >/dev/null && selinuxenabled"
# What a step that skipped for it prints (a note: `up` shows it).
NO_SELINUX = 'echo "skipped: no SELinux on $(uname -n)"'


def no_selinux_note(host: str) -> str:
    """The same words, for a host whose live state a probe read."""
    return f"skipped: no SELinux on {host}"
