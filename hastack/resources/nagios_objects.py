"""NagiosObjects: object files of the stack in the Nagios server's objects directory, checked by
`nagios -v` against the server's whole configuration before Nagios reloads them.

One resource per guest and per alerting cluster (components/monitoring.py), so a guest's objects
go with it.  Each apply takes the directory's lock (several resources share one server), stages
its files beside their places, moves them in (keeping each old file), and runs the verify command;
when Nagios refuses the configuration every file of this apply is put back as it was (removed when
it was new) and the error names Nagios's own error lines, and nothing is reloaded.  Delete takes
its files out the same way, so a server whose configuration still needs them (another object
refers to one) keeps them and says why.  A file already gone is nothing to remove.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hastack.plan import Put, Run
from hastack.resources.base import Live, Props, digest, on_each_node

FILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*\.cfg$"  # Nagios reads *.cfg of a cfg_dir
REFUSED = 4  # the exit code of an apply whose files Nagios refused


class NagiosObjectsProps(Props):
    objects_dir: str = Field(pattern=r"^/[^\s]*[^/\s]$")
    files: dict[str, str]  # file name (FILE_NAME) -> content
    verify_argv: tuple[str, ...] = Field(min_length=1)  # e.g. nagios4 -v /etc/nagios4/nagios.cfg
    reload_argv: tuple[str, ...] = Field(min_length=1)  # e.g. systemctl reload nagios4.service

    @field_validator("files")
    @classmethod
    def _plain_names(cls, files: dict[str, str]) -> dict[str, str]:
        bad = [name for name in files if not re.match(FILE_NAME, name)]
        if bad:
            raise ValueError(f"Nagios object file names {bad} are not plain <name>.cfg")
        return files


class ObjectFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    present: bool
    content_matches: bool = False


class NagiosObjectsLive(Live):
    files: dict[str, dict[str, ObjectFile]]  # node -> file name -> what is there


PROPS, LIVE = NagiosObjectsProps, NagiosObjectsLive
COMPARED = ("objects_dir", "files", "verify_argv", "reload_argv")
REPLACED = ("objects_dir",)  # the old directory's files go with the old props


def resource_id(props: NagiosObjectsProps) -> str:
    return f"nagios-objects-{'-'.join(sorted(n.removesuffix('.cfg') for n in props.files))}"


def staged(name: str) -> str:
    return f".{name}.hastack-new"


# ---- probe: each file's checksum, or its absence -------------------------------------------------
PROBE = 'cd "$1" 2>/dev/null || exit 0; shift; for f; do if [ -f "$f" ]; then echo "$f $(sha256sum < "$f" | cut -d " " -f 1)"; fi; done'


def probe_argv(props: NagiosObjectsProps) -> list[str]:
    return ["sh", "-c", PROBE, "sh", props.objects_dir, *sorted(props.files)]


def parse_probe(props: NagiosObjectsProps, stdout: str) -> dict[str, ObjectFile]:
    found = dict(line.split(" ", 1) for line in stdout.splitlines() if " " in line)
    return {name: ObjectFile(present=name in found, content_matches=found.get(name) == digest(content))
            for name, content in props.files.items()}


def observe(props: NagiosObjectsProps, transport_for) -> NagiosObjectsLive | None:
    """None when none of the files is on the server: the next `up` writes them."""
    files = {n.name: parse_probe(props, transport_for(n.name).run(probe_argv(props)).stdout) for n in props.nodes}
    if not any(f.present for node in files.values() for f in node.values()):
        return None
    return NagiosObjectsLive(files=files)


def drifted(props: NagiosObjectsProps, live: NagiosObjectsLive) -> tuple[str, ...]:
    ok = all(f.present and f.content_matches for node in live.files.values() for f in node.values())
    return () if ok else ("files",)


# ---- the one apply: move in (+name) or take out (-name), verify, restore or reload ---------------
# $1 the directory, $2 the verify argv's length, the verify argv, the reload argv's length, the
# reload argv, then +name (its staged copy goes live) or -name (taken out).
APPLY = r'''
set -u
dir=$1 n=$2; shift 2; verify=("${@:1:n}"); shift "$n"
n=$1; shift; reload=("${@:1:n}"); shift "$n"
[ -d "$dir" ] || exit 0  # nothing to take out (a create's put made the directory)
exec 9>"$dir/.hastack.lock"; flock 9
touched=()
for op; do
  f=${op:1}; old="$dir/.$f.hastack-old"; rm -f -- "$old"
  if [ "${op:0:1}" = + ]; then
    [ ! -e "$dir/$f" ] || cp -p -- "$dir/$f" "$old"
    mv -f -- "$dir/.$f.hastack-new" "$dir/$f"
  elif [ -e "$dir/$f" ]; then
    mv -f -- "$dir/$f" "$old"
  else
    continue
  fi
  touched+=("$f")
done
[ ${#touched[@]} -gt 0 ] || exit 0
if ! out=$("${verify[@]}" 2>&1); then
  for f in "${touched[@]}"; do
    if [ -e "$dir/.$f.hastack-old" ]; then mv -f -- "$dir/.$f.hastack-old" "$dir/$f"; else rm -f -- "$dir/$f"; fi
  done
  echo "Nagios refused the configuration with ${touched[*]} (each put back as it was; Nagios not reloaded):" >&2
  printf '%s\n' "$out" | grep -E '^(Error|Warning|\*\*\*>)|Total (Errors|Warnings)' | head -n 20 >&2
  exit 4
fi
for f in "${touched[@]}"; do rm -f -- "$dir/.$f.hastack-old"; done
"${reload[@]}"
'''


def apply_argv(props: NagiosObjectsProps, ops: list[str]) -> tuple[str, ...]:
    return ("bash", "-c", APPLY, "nagios-objects", props.objects_dir, str(len(props.verify_argv)),
            *props.verify_argv, str(len(props.reload_argv)), *props.reload_argv, *ops)


def _install(props: NagiosObjectsProps, removed: tuple[str, ...] = ()):
    puts = [Put(f"{props.objects_dir}/{staged(name)}", content.encode(), 0o644)
            for name, content in sorted(props.files.items())]
    ops = [f"+{name}" for name in sorted(props.files)] + [f"-{name}" for name in removed]
    return on_each_node(props, *puts, Run(apply_argv(props, ops)))


def plan_create(props: NagiosObjectsProps, found=None):
    return _install(props)


def plan_update(old: NagiosObjectsProps, new: NagiosObjectsProps, live: NagiosObjectsLive | None):
    return _install(new, tuple(sorted(set(old.files) - set(new.files))))


def plan_delete(props: NagiosObjectsProps):
    return on_each_node(props, Run(apply_argv(props, [f"-{name}" for name in sorted(props.files)])))
