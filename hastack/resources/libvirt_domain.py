"""LibvirtDomain: the VM's domain XML defined (never started) on both nodes.

Pacemaker's VirtualDomain owns the running state; a domain running on a node is HA motion, not
drift, so only the definition is compared.  Delete refuses while the domain still runs.

VirtualDomain undefines a persistent domain before it starts it (`virsh create` from its config
file) and puts the config file back, so on a node where Pacemaker ran and stopped the VM only
that file is left: it is the definition there, and delete removes it too.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from pydantic import BaseModel, ConfigDict

from hastack.plan import Put, Run
from hastack.render.libvirt import domain_xml_path
from hastack.resources.base import Live, Props, on_each_node

STAGING = "/var/lib/hastack/libvirt"


def staged_path(name: str) -> str:
    return f"{STAGING}/{name}.xml"


class LibvirtDomainProps(Props):
    name: str
    xml: str


class DomainDefinition(BaseModel):
    """What hastack compares of a definition: libvirt adds defaults (uuid, machine type,
    controllers) on define."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None
    memory_kib: int
    vcpu: str
    kernel: str | None
    disks: tuple[str, ...]
    nics: tuple[tuple[str | None, str | None], ...]  # (bridge, mac)


class LibvirtDomainLive(Live):
    definitions: dict[str, DomainDefinition | None]  # node -> its definition; None: not defined there


PROPS, LIVE = LibvirtDomainProps, LibvirtDomainLive
COMPARED = ("name", "xml")
REPLACED = ("name",)


def resource_id(props: LibvirtDomainProps) -> str:
    return props.name


def parse_domain(xml_text: str) -> DomainDefinition:
    root = ET.fromstring(xml_text)
    return DomainDefinition(
        name=root.findtext("name"),
        memory_kib=_kib(root.find("memory")),
        vcpu=(root.findtext("vcpu") or "").strip(),
        kernel=root.findtext("os/kernel"),
        disks=tuple(sorted(d.get("dev") or d.get("file") or "" for d in root.findall("devices/disk/source"))),
        nics=tuple(sorted((i.find("source").get("bridge"), i.find("mac").get("address"))
                          for i in root.findall("devices/interface") if i.find("source") is not None)),
    )


def _kib(memory) -> int:
    value, unit = int(memory.text), memory.get("unit", "KiB")
    return value * {"KiB": 1, "MiB": 1024, "GiB": 1024 * 1024}[unit]


# ---- probe: the definition on one node ----------------------------------------------------------
def dumpxml_argv(name: str) -> list[str]:
    return ["virsh", "dumpxml", "--inactive", name]


def observe(props: LibvirtDomainProps, transport_for) -> LibvirtDomainLive | None:
    definitions = {}
    for node in props.nodes:
        host = transport_for(node.name)
        result = host.run(dumpxml_argv(props.name), ok_rc=(0, 1))
        if result.exit_code == 0:
            definitions[node.name] = parse_domain(result.stdout)
            continue
        kept = host.read(domain_xml_path(props.name))  # Pacemaker ran and stopped it here
        definitions[node.name] = None if kept is None else parse_domain(kept.decode())
    if all(d is None for d in definitions.values()):
        return None
    return LibvirtDomainLive(definitions=definitions)


def drifted(props: LibvirtDomainProps, live: LibvirtDomainLive) -> tuple[str, ...]:
    wanted = parse_domain(props.xml)
    return ("xml",) if any(d != wanted for d in live.definitions.values()) else ()


# ---- plans ---------------------------------------------------------------------------------------
def _staged_then(props: LibvirtDomainProps, define_argv):
    """On every node: the XML written to the staging file, then DEFINE_ARGV(staged path)."""
    staged = staged_path(props.name)
    return on_each_node(props, Run(("mkdir", "-p", STAGING)), Put(staged, props.xml.encode()), Run(define_argv(staged)))


def plan_create(props: LibvirtDomainProps, found=None):
    return _staged_then(props, lambda staged: ("virsh", "define", staged))


# `virsh define` replaces the persistent definition (a running domain takes it at its next start).
# A definition made under another UUID (hastack before stable UUIDs) cannot be redefined: it is
# undefined first, which is safe only where the domain is shut off.
REDEFINE = ('live=$(virsh domuuid "$1" 2>/dev/null) || live=; '
            'if [ -n "$live" ] && [ "$live" != "$2" ]; then '
            'if [ "$(virsh domstate "$1")" != "shut off" ]; then '
            'echo "domain $1 runs here under UUID $live, not $2: stop it (pcs resource disable) and run up again" >&2; '
            'exit 1; fi; virsh undefine "$1" >/dev/null; fi; virsh define "$3"')


def plan_update(old: LibvirtDomainProps, new: LibvirtDomainProps, live: LibvirtDomainLive | None):
    wanted_uuid = ET.fromstring(new.xml).findtext("uuid") or ""
    return _staged_then(new, lambda staged: ("sh", "-c", REDEFINE, "sh", new.name, wanted_uuid, staged))


UNDEFINE = ('if virsh dominfo "$1" >/dev/null 2>&1; then '
            'if [ "$(virsh domstate "$1")" != "shut off" ]; then '
            'echo "domain $1 is still running here; Pacemaker must stop it first" >&2; exit 1; fi; '
            'virsh undefine "$1" >/dev/null; fi; rm -f -- "$2" "$3"')


def plan_delete(props: LibvirtDomainProps):
    return on_each_node(props, Run(("sh", "-c", UNDEFINE, "sh", props.name, domain_xml_path(props.name),
                                    staged_path(props.name))))
