"""RemoteFile: a file with exact content, mode and owner on every node of a layer.

A file may be checked before it goes live (`validate_argv`, on a staged copy) and followed by a
command once it is live (`then_argv`: a reload of the daemon that reads it)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hastack.plan import Put, Remove, Run
from hastack.resources.base import Live, Props, digest, on_each_node


class RemoteFileProps(Props):
    path: str
    content: str
    mode: int = 0o644
    secret: bool = False
    # A command that must accept the file before it goes live (e.g. visudo -cf); gets the path.
    validate_argv: tuple[str, ...] = ()
    # The file's owner (user or user:group); None leaves it root's, as Put writes it.  A secret
    # file is written 0600 root first, so no other user ever reads it before the chown.
    owner: str | None = None
    # Run once the file is live on a node (e.g. a reload of the daemon that reads it).
    then_argv: tuple[str, ...] = ()


class FileState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: int
    owner: str = "root:root"
    content_matches: bool
    sha256: str | None = None  # of the live content; never kept for a secret file


class RemoteFileLive(Live):
    files: dict[str, FileState]  # node -> the file there


PROPS, LIVE = RemoteFileProps, RemoteFileLive
COMPARED = ("path", "content", "mode", "owner")
REPLACED = ("path",)


def resource_id(props: RemoteFileProps) -> str:
    return props.path


# ---- probe: the file's mode and checksum on one node ----------------------------------------------
STAT = 'test -e "$1" || exit 3; stat -c "%a %U:%G" "$1"; sha256sum < "$1"'
MISSING = 3


def stat_argv(path: str) -> list[str]:
    return ["sh", "-c", STAT, "sh", path]


def parse_stat(stdout: str) -> tuple[int, str, str]:
    """(mode, user:group, sha256) of STAT's output."""
    mode, owner, checksum = stdout.split()[:3]
    return int(mode, 8), owner, checksum


def owner_matches(wanted: str | None, live: str) -> bool:
    """`hacluster` is met by hacluster:<any group>; None (root's, as written) by root:<any>."""
    user, _, group = (wanted or "root").partition(":")
    live_user, _, live_group = live.partition(":")
    return user == live_user and (not group or group == live_group)


def observe(props: RemoteFileProps, transport_for) -> RemoteFileLive | None:
    """None when the file is missing on any node: the next `up` writes it on every node."""
    files, wanted = {}, digest(props.content)
    for node in props.nodes:
        result = transport_for(node.name).run(stat_argv(props.path), ok_rc=(0, MISSING))
        if result.exit_code == MISSING:
            return None
        mode, owner, checksum = parse_stat(result.stdout)
        files[node.name] = FileState(mode=mode, owner=owner, content_matches=checksum == wanted,
                                     sha256=None if props.secret else checksum)
    return RemoteFileLive(files=files)


def drifted(props: RemoteFileProps, live: RemoteFileLive) -> tuple[str, ...]:
    files = live.files.values()
    return ((("content",) if not all(f.content_matches for f in files) else ())
            + (("mode",) if any(f.mode != props.mode for f in files) else ())
            + (("owner",) if not all(owner_matches(props.owner, f.owner) for f in files) else ()))


# ---- plans ---------------------------------------------------------------------------------------
def put_plan(props: RemoteFileProps):
    staged = props.path + ".hastack-new" if props.validate_argv or props.owner else props.path
    steps = [Put(staged, props.content.encode(), props.mode, props.secret)]
    if props.owner:
        steps.append(Run(("chown", "--", props.owner, staged)))
    if props.validate_argv:
        steps.append(Run((*props.validate_argv, staged)))
    if staged != props.path:
        steps.append(Run(("mv", "-f", "--", staged, props.path)))
    if props.then_argv:
        steps.append(Run(props.then_argv))
    return on_each_node(props, *steps)


def plan_create(props: RemoteFileProps, found=None):
    return put_plan(props)


def plan_update(old: RemoteFileProps, new: RemoteFileProps, live: RemoteFileLive | None):
    return put_plan(new)


def plan_delete(props: RemoteFileProps):
    return on_each_node(props, Remove(props.path))
