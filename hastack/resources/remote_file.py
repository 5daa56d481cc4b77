"""RemoteFile: a file with exact content and mode on every node of a layer."""
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


class FileState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: int
    content_matches: bool
    sha256: str | None = None  # of the live content; never kept for a secret file


class RemoteFileLive(Live):
    files: dict[str, FileState]  # node -> the file there


PROPS, LIVE = RemoteFileProps, RemoteFileLive
COMPARED = ("path", "content", "mode")
REPLACED = ("path",)


def resource_id(props: RemoteFileProps) -> str:
    return props.path


# ---- probe: the file's mode and checksum on one node ----------------------------------------------
STAT = 'test -e "$1" || exit 3; stat -c %a "$1"; sha256sum < "$1"'
MISSING = 3


def stat_argv(path: str) -> list[str]:
    return ["sh", "-c", STAT, "sh", path]


def parse_stat(stdout: str) -> tuple[int, str]:
    mode, checksum = stdout.split()[:2]
    return int(mode, 8), checksum


def observe(props: RemoteFileProps, transport_for) -> RemoteFileLive | None:
    """None when the file is missing on any node: the next `up` writes it on every node."""
    files, wanted = {}, digest(props.content)
    for node in props.nodes:
        result = transport_for(node.name).run(stat_argv(props.path), ok_rc=(0, MISSING))
        if result.exit_code == MISSING:
            return None
        mode, checksum = parse_stat(result.stdout)
        files[node.name] = FileState(mode=mode, content_matches=checksum == wanted,
                                     sha256=None if props.secret else checksum)
    return RemoteFileLive(files=files)


def drifted(props: RemoteFileProps, live: RemoteFileLive) -> tuple[str, ...]:
    files = live.files.values()
    return ((("content",) if not all(f.content_matches for f in files) else ())
            + (("mode",) if any(f.mode != props.mode for f in files) else ()))


# ---- plans ---------------------------------------------------------------------------------------
def put_plan(props: RemoteFileProps):
    if not props.validate_argv:
        return on_each_node(props, Put(props.path, props.content.encode(), props.mode, props.secret))
    staged = props.path + ".hastack-new"
    return on_each_node(props, Put(staged, props.content.encode(), props.mode, props.secret),
                        Run((*props.validate_argv, staged)), Run(("mv", "-f", "--", staged, props.path)))


def plan_create(props: RemoteFileProps, found=None):
    return put_plan(props)


def plan_update(old: RemoteFileProps, new: RemoteFileProps, live: RemoteFileLive | None):
    return put_plan(new)


def plan_delete(props: RemoteFileProps):
    return on_each_node(props, Remove(props.path))
