"""OcfHelperLinks: the OCF shell helpers linked where ocf:heartbeat:pgsql looks for them.

On RHEL 9 the agent sources helpers from /lib/heartbeat, while resource-agents installs them in
/usr/lib/ocf/lib/heartbeat; the seed links every helper there (`ln -s`, only where /lib/heartbeat
has no file of that name).  hastack does the same on every node of the guest layer and records each
link it made (and the directory, if it made that) in LEDGER; delete removes only those, and only
while each is still hastack's link.  A host whose /lib/heartbeat has every helper already gets
nothing, and says so; one without the helpers' directory too ("skipped: ...").  Debian's agent
needs none of it: guest.ocf_helper_links is off there (hastack.layout.ocf_helper_links_on).
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hastack.plan import Run
from hastack.resources.base import Live, Props, on_each_node

LEDGER = "/var/lib/hastack/ocf-helper-links"  # `d <dir>` it made, `l <link>` per link it made
SOURCE_DIR = "/usr/lib/ocf/lib/heartbeat"
LINK_DIR = "/lib/heartbeat"


class OcfHelperLinksProps(Props):
    source_dir: str = SOURCE_DIR  # where resource-agents installs the helpers
    link_dir: str = LINK_DIR  # where the agent sources them from


class NodeHelpers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    skipped: str | None = None  # "skipped: no <source_dir> on <node>": nothing to link from
    missing: tuple[str, ...] = ()  # helpers with no file (or link) of their name in link_dir
    made: tuple[str, ...] = ()  # the links hastack made there (LEDGER)


class OcfHelperLinksLive(Live):
    nodes: dict[str, NodeHelpers]


PROPS, LIVE = OcfHelperLinksProps, OcfHelperLinksLive
COMPARED = ("source_dir", "link_dir")
REPLACED = ("source_dir", "link_dir")  # links into another directory: the old ones go first


def resource_id(props: OcfHelperLinksProps) -> str:
    return f"ocf-helper-links-{props.layer}"


def skipped_note(source_dir: str, host: str) -> str:
    return f"skipped: no {source_dir} on {host}"


# ---- probe: which helpers link_dir lacks, and the links hastack made, on one node ----------------
# $1 source_dir, $2 link_dir, $3 the ledger.  Prints `no-source`, or `missing <helper>` per helper
# with nothing of its name in link_dir (a dangling link counts as something: never replaced) and
# `made <link>` per link in the ledger.
PROBE = ('src=$1 dst=$2 ledger=$3; [ -d "$src" ] || { echo no-source; exit 0; }\n'
         'for f in "$src"/*; do [ -e "$f" ] || continue; t="$dst/${f##*/}"\n'
         '  [ -e "$t" ] || [ -L "$t" ] || echo "missing ${f##*/}"; done\n'
         '[ ! -f "$ledger" ] || sed -n "s/^l /made /p" "$ledger"; exit 0')


def probe_argv(props: OcfHelperLinksProps) -> list[str]:
    return ["sh", "-c", PROBE, "sh", props.source_dir, props.link_dir, LEDGER]


def parse_probe(props: OcfHelperLinksProps, node: str, stdout: str) -> NodeHelpers:
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if lines[:1] == ["no-source"]:
        return NodeHelpers(skipped=skipped_note(props.source_dir, node))
    return NodeHelpers(missing=tuple(line.removeprefix("missing ") for line in lines if line.startswith("missing ")),
                       made=tuple(line.removeprefix("made ") for line in lines if line.startswith("made ")))


def observe(props: OcfHelperLinksProps, transport_for) -> OcfHelperLinksLive:
    return OcfHelperLinksLive(nodes={n.name: parse_probe(props, n.name, transport_for(n.name).run(probe_argv(props)).stdout)
                                     for n in props.nodes})


def drifted(props: OcfHelperLinksProps, live: OcfHelperLinksLive) -> tuple[str, ...]:
    """A helper link_dir lacks (removed by hand, or new with an upgrade of resource-agents)."""
    return ("link_dir",) if any(node.missing for node in live.nodes.values()) else ()


# ---- plans ---------------------------------------------------------------------------------------
# $1 source_dir, $2 link_dir, $3 the ledger.  Links each helper link_dir has no file of (never
# replacing one, a dangling link included), each recorded before the next.
LINK = ('src=$1 dst=$2 ledger=$3; [ -d "$src" ] || { echo "skipped: no $src on $(uname -n)"; exit 0; }\n'
        'mkdir -p "${ledger%/*}"; touch "$ledger"\n'
        'if [ ! -d "$dst" ]; then mkdir -p "$dst"; grep -qxF "d $dst" "$ledger" || echo "d $dst" >> "$ledger"; fi\n'
        'made=0\n'
        'for f in "$src"/*; do [ -e "$f" ] || continue; t="$dst/${f##*/}"\n'
        '  if [ -e "$t" ] || [ -L "$t" ]; then continue; fi\n'
        '  ln -s "$f" "$t"; grep -qxF "l $t" "$ledger" || echo "l $t" >> "$ledger"; made=$((made + 1))\n'
        'done\n'
        'if [ "$made" -eq 0 ]; then echo "nothing to link: $dst has every helper of $src on $(uname -n)"\n'
        'else echo "linked $made helper(s) of $src into $dst on $(uname -n)"; fi')
# $1 source_dir, $2 link_dir, $3 the ledger.  Removes each link of the ledger that is still a link
# to its helper (a file put there since is the host's), then a directory hastack made, if empty.
UNLINK = ('src=$1 dst=$2 ledger=$3; [ -f "$ledger" ] || exit 0\n'
          'while read -r kind path; do\n'
          '  if [ "$kind" = l ] && [ -L "$path" ] && [ "$(readlink "$path")" = "$src/${path##*/}" ]; then rm -f "$path"; fi\n'
          'done < "$ledger"\n'
          'while read -r kind path; do if [ "$kind" = d ]; then rmdir "$path" 2>/dev/null || true; fi; done < "$ledger"\n'
          'rm -f "$ledger"')


def link_argv(props: OcfHelperLinksProps) -> tuple[str, ...]:
    return ("sh", "-c", LINK, "sh", props.source_dir, props.link_dir, LEDGER)


def unlink_argv(props: OcfHelperLinksProps) -> tuple[str, ...]:
    return ("sh", "-c", UNLINK, "sh", props.source_dir, props.link_dir, LEDGER)


def plan_create(props: OcfHelperLinksProps, found=None):
    return on_each_node(props, Run(link_argv(props), notes=True))


def plan_update(old: OcfHelperLinksProps, new: OcfHelperLinksProps, live: OcfHelperLinksLive | None):
    return plan_create(new)  # links what is missing now; a changed directory is a replace


def plan_delete(props: OcfHelperLinksProps):
    return on_each_node(props, Run(unlink_argv(props)))
