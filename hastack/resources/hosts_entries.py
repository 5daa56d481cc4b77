"""HostsEntries: hastack's block in /etc/hosts on every node of a layer, the names the seed's
operator adds by hand on both nodes: each node at its management address (fqdn and short name),
at each ring address, and each hypervisor's BMC.

The block sits between two marker lines and is all hastack touches; the rest of the file stays
the host's.  A name of the block that a line outside it maps to another address is refused before
the first write: /etc/hosts answers with the first line naming it, and the block would lose.  The
file is replaced atomically by a sibling carrying its mode, owner and SELinux label.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hastack.plan import Put, Run
from hastack.render.selinux import SELINUX_ON
from hastack.reports import HastackError
from hastack.resources.base import Live, Props, on_each_node

HOSTS_PATH = "/etc/hosts"


class HostsEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str
    names: tuple[str, ...]


class HostsEntriesProps(Props):
    entries: tuple[HostsEntry, ...]
    path: str = HOSTS_PATH  # another file only in tests


class HostsEntriesLive(Live):
    blocks: dict[str, tuple[HostsEntry, ...] | None]  # node -> hastack's block there (None: none)


PROPS, LIVE = HostsEntriesProps, HostsEntriesLive
COMPARED = ("path", "entries")
REPLACED = ("path",)


def resource_id(props: HostsEntriesProps) -> str:
    return f"{props.path}#hastack-{props.layer}"


def markers(layer: str) -> tuple[str, str]:
    return (f"# BEGIN hastack {layer}: written by `pulumi up`; an edit here is drift that the next up repairs",
            f"# END hastack {layer}")


def render_block(props: HostsEntriesProps) -> str:
    begin, end = markers(props.layer)
    return "\n".join([begin, *(f"{e.address} {' '.join(e.names)}" for e in props.entries), end]) + "\n"


# ---- reading the file: hastack's block and the host's own lines ----------------------------------------
def _entry(line: str) -> HostsEntry | None:
    fields = line.split("#", 1)[0].split()
    return HostsEntry(address=fields[0], names=tuple(fields[1:])) if len(fields) >= 2 else None


def parse_hosts(text: str, layer: str) -> tuple[tuple[HostsEntry, ...] | None, tuple[str, ...]]:
    """(the block's entries, or None when there is no block; the lines outside it).  A BEGIN line
    with no END after it is refused: the file was damaged by hand."""
    begin, end = markers(layer)
    block: list[HostsEntry] | None = None
    outside: list[str] = []
    inside = False
    for line in text.splitlines():
        if line == begin and block is None:
            block, inside = [], True
        elif inside and line == end:
            inside = False
        elif inside:
            if (entry := _entry(line)) is not None:
                block.append(entry)
        else:
            outside.append(line)
    if inside:
        raise HastackError("HOSTS_BLOCK_UNTERMINATED", f"hastack's block in /etc/hosts starts ({begin!r}) but never "
                           f"ends: put back the line {end!r} after its entries, or delete the block")
    return (tuple(block) if block is not None else None), tuple(outside)


def conflicts(entries: tuple[HostsEntry, ...], outside: tuple[str, ...]) -> list[str]:
    """The host's own lines that map one of the block's names to another address."""
    wanted = {name: e.address for e in entries for name in e.names}
    found = []
    for line in outside:
        entry = _entry(line)
        clash = [n for n in entry.names if wanted.get(n, entry.address) != entry.address] if entry else []
        if clash:
            found.append(f"{line.strip()!r} maps {', '.join(clash)} to {entry.address}, not "
                         f"{', '.join(sorted({wanted[n] for n in clash}))}")
    return found


# ---- probe: the file on one node -----------------------------------------------------------------------
def cat_argv(path: str) -> list[str]:
    return ["cat", "--", path]


def read_blocks(props: HostsEntriesProps, transport_for) -> dict[str, tuple[tuple[HostsEntry, ...] | None, tuple[str, ...]]]:
    return {n.name: parse_hosts(transport_for(n.name).run(cat_argv(props.path)).stdout, props.layer) for n in props.nodes}


def find(props: HostsEntriesProps, transport_for) -> None:
    """Before the first write: refuse a host whose own lines would shadow the block's names."""
    for node, (_block, outside) in read_blocks(props, transport_for).items():
        if clashes := conflicts(props.entries, outside):
            raise HastackError("HOSTS_CONFLICT", f"{node}: {props.path} already names hosts of this cluster at other "
                               f"addresses ({'; '.join(clashes)}); the first line wins, so hastack's entries would be "
                               "shadowed: correct or delete those lines, then run up again")


def observe(props: HostsEntriesProps, transport_for) -> HostsEntriesLive | None:
    """None when no node has the block: the next `up` writes it."""
    blocks = {node: block for node, (block, _outside) in read_blocks(props, transport_for).items()}
    return None if all(b is None for b in blocks.values()) else HostsEntriesLive(blocks=blocks)


def drifted(props: HostsEntriesProps, live: HostsEntriesLive) -> tuple[str, ...]:
    return ("entries",) if any(b != props.entries for b in live.blocks.values()) else ()


# ---- plans: the block spliced in where it was (appended the first time), or taken out -------------------
# $1 file, $2 BEGIN line, $3 END line, $4 the new block's file (/dev/null: take the block out).
SPLICE = '''f=$1; new=$f.hastack-new
awk -v b="$2" -v e="$3" -v blk="$4" '
  function put(l) { while ((getline l < blk) > 0) print l; done = 1 }
  $0 == b && !done { put(); skip = 1; next }
  skip && $0 == e { skip = 0; next }
  !skip { print }
  END { if (skip) exit 3; if (!done) put() }' "$f" > "$new" || {
  rm -f "$new"; echo "$f: hastack's block starts but never ends: put its END line back, or delete the block" >&2; exit 3; }
chmod --reference="$f" "$new" && chown --reference="$f" "$new" || { rm -f "$new"; exit 1; }
if ''' + SELINUX_ON + '''; then chcon --reference="$f" "$new" || { rm -f "$new"; exit 1; }; fi
mv -f -- "$new" "$f"'''


def staged_path(props: HostsEntriesProps) -> str:
    return f"{props.path}.hastack-{props.layer}"


def splice_argv(props: HostsEntriesProps, block_file: str) -> tuple[str, ...]:
    begin, end = markers(props.layer)
    return ("sh", "-c", SPLICE, "sh", props.path, begin, end, block_file)


def put_plan(props: HostsEntriesProps):
    staged = staged_path(props)
    return on_each_node(props, Put(staged, render_block(props).encode(), 0o644, False),
                        Run(splice_argv(props, staged)), Run(("rm", "-f", "--", staged)))


def plan_create(props: HostsEntriesProps, found=None):
    return put_plan(props)


def plan_update(old: HostsEntriesProps, new: HostsEntriesProps, live: HostsEntriesLive | None):
    return put_plan(new)


def plan_delete(props: HostsEntriesProps):
    return on_each_node(props, Run(splice_argv(props, "/dev/null")))


# ---- what a layer's block holds ------------------------------------------------------------------------
def layer_entries(cluster, layer: str) -> tuple[HostsEntry, ...]:
    """The names of a layer's cluster (config.hypervisor or config.guest) in the seed's order: each
    ring's addresses, the nodes, the BMCs.  A name given twice is refused (the templates made a
    node's name, or two nodes' names clash)."""
    options = cluster.hosts_file
    entries = [HostsEntry(address=str(node.ring_addresses[ring]),
                          names=(options.ring_names.format(node=node.name, ring=ring + 1),))
               for ring in range(len(cluster.rings)) for node in cluster.nodes]
    entries += [HostsEntry(address=str(node.mgmt_address), names=tuple(dict.fromkeys((node.fqdn, node.name))))
                for node in cluster.nodes]
    entries += [HostsEntry(address=str(node.bmc.address), names=(options.bmc_names.format(node=node.name),))
                for node in cluster.nodes if getattr(node, "bmc", None) is not None]
    seen: dict[str, str] = {}
    for entry in entries:
        for name in entry.names:
            if seen.setdefault(name, entry.address) != entry.address:
                raise HastackError("HOSTS_NAME_TWICE", f"{layer}.hosts_file: the name {name} would stand for both "
                                   f"{seen[name]} and {entry.address}: change ring_names or bmc_names so that no "
                                   "generated name is a node's name")
    return tuple(entries)
