"""LibvirtDomain: the VM's domain XML defined (never started) on both nodes.

Pacemaker's VirtualDomain owns the running state; a domain running on a node is HA motion, not
drift, so only the definition is compared.  Delete refuses while the domain still runs.

VirtualDomain undefines a persistent domain before it starts it (`virsh create` from its config
file, so the running domain is transient) and puts the config file back: on a node where
Pacemaker has run and stopped the VM, only that file is left (seen live after a move: refresh
said "not defined on node1").  The file is what VirtualDomain starts from, so it counts as the
definition there, and delete removes it too.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pulumi
import pulumi.dynamic

from hastack.plan import Put, Run, on
from hastack.render.libvirt import domain_xml_path
from providers.base import HastackProvider, Props

STAGING = "/var/lib/hastack/libvirt"


def staged_path(name: str) -> str:
    return f"{STAGING}/{name}.xml"


class LibvirtDomainProps(Props):
    name: str
    xml: str


def domain_key_fields(xml_text: str) -> dict:
    """What hastack compares: libvirt adds defaults (uuid, machine type, controllers) on define."""
    root = ET.fromstring(xml_text)
    return {
        "name": root.findtext("name"),
        "memory_kib": _kib(root.find("memory")),
        "vcpu": (root.findtext("vcpu") or "").strip(),
        "kernel": root.findtext("os/kernel"),
        "disks": sorted(d.get("dev") or d.get("file") or "" for d in root.findall("devices/disk/source")),
        "nics": sorted((i.find("source").get("bridge"), i.find("mac").get("address"))
                       for i in root.findall("devices/interface") if i.find("source") is not None),
    }


def _kib(memory) -> int:
    value, unit = int(memory.text), memory.get("unit", "KiB")
    return value * {"KiB": 1, "MiB": 1024, "GiB": 1024 * 1024}[unit]


class LibvirtDomainProvider(HastackProvider):
    props_model = LibvirtDomainProps
    compare_fields = ("name", "xml")
    replace_fields = ("name",)

    def resource_id(self, props):
        return props.name

    @staticmethod
    def _staged_then(props, define_argv) -> tuple:
        """On every node: the XML written to the staging file, then DEFINE_ARGV(staged path)."""
        staged = staged_path(props.name)
        return tuple(s for n in props.nodes for s in on(
            n.name, Run(("mkdir", "-p", STAGING)), Put(staged, props.xml.encode()), Run(define_argv(staged))))

    def plan_create(self, props, facts=None):
        return self._staged_then(props, lambda staged: ("virsh", "define", staged))

    def plan_update(self, old, new):
        # `virsh define` replaces the persistent definition (a running domain takes it at its next
        # start).  A definition made under another UUID (hastack before stable UUIDs) cannot be
        # redefined: it is undefined first, which is safe only where the domain is shut off.
        script = ('live=$(virsh domuuid "$1" 2>/dev/null) || live=; '
                  'if [ -n "$live" ] && [ "$live" != "$2" ]; then '
                  'if [ "$(virsh domstate "$1")" != "shut off" ]; then '
                  'echo "domain $1 runs here under UUID $live, not $2: stop it (pcs resource disable) and run up again" >&2; '
                  'exit 1; fi; virsh undefine "$1" >/dev/null; fi; virsh define "$3"')
        wanted_uuid = ET.fromstring(new.xml).findtext("uuid") or ""
        return self._staged_then(new, lambda staged: ("sh", "-c", script, "sh", new.name, wanted_uuid, staged))

    def plan_delete(self, props):
        script = ('if virsh dominfo "$1" >/dev/null 2>&1; then '
                  'if [ "$(virsh domstate "$1")" != "shut off" ]; then '
                  'echo "domain $1 is still running here; Pacemaker must stop it first" >&2; exit 1; fi; '
                  'virsh undefine "$1" >/dev/null; fi; rm -f -- "$2" "$3"')
        return tuple(s for n in props.nodes for s in on(n.name, Run((
            "sh", "-c", script, "sh", props.name, domain_xml_path(props.name), staged_path(props.name)))))

    def observe(self, props, transport_for):
        wanted, drift, present = domain_key_fields(props.xml), {}, 0
        for node in props.nodes:
            host = transport_for(node.name)
            result = host.run(["virsh", "dumpxml", "--inactive", props.name], ok_rc=(0, 1))
            if result.exit_code == 0:
                text = result.stdout
            else:
                kept = host.read(domain_xml_path(props.name))  # Pacemaker ran and stopped it here
                if kept is None:
                    drift["xml"] = f"(not defined on {node.name})"
                    continue
                text = kept.decode()
            present += 1
            live = domain_key_fields(text)
            if live != wanted:
                changed = sorted(k for k in wanted if wanted[k] != live.get(k))
                drift["xml"] = f"(definition differs on {node.name}: {', '.join(changed)})"
        return None if present == 0 else drift


class LibvirtDomain(pulumi.dynamic.Resource, module="hastack", name="LibvirtDomain"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(LibvirtDomainProvider(), name, props, opts)
