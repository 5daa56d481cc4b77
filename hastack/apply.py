"""Run a plan against live hosts, or into a render directory.  The only place steps take effect.

When a step fails, the error says which steps were applied and which were not, so nothing is
ever half-applied without the operator being told exactly what is left.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from hastack.cib import FileCib, LiveCib, quote_for_log
from hastack.plan import CLUSTER, CibEdit, Plan, Put, Remove, Run, Step, Together, sequential
from hastack.reports import HastackError
from hastack.transport import Transport, shown


def describe(target: str, step: Step) -> str:
    if isinstance(step, Run):
        return f"{target}: {shown(step.argv)}"
    if isinstance(step, Put):
        return f"{target}: write {step.path} ({oct(step.mode)})"
    if isinstance(step, Remove):
        return f"{target}: remove {step.path}"
    return f"{target}: CIB patch of {len(step.commands)} pcs command(s)"


def apply_live(plan: Plan, transport_for: Callable[[str], Transport],
               notes: list[tuple[str, str]] | None = None) -> list[str]:
    """Apply steps in order (a Together's lanes at once); returns what was done.  NOTES, when
    given, gets (node, line) for each line a `Run(notes=True)` step printed."""
    done: list[str] = []
    for index, (target, step) in enumerate(plan):
        if isinstance(step, Together):
            lanes_done, failed, lanes_left = _apply_lanes(step, transport_for, notes)
            done += lanes_done
            if failed:
                error = failed[0][1]
                _raise_partial(error.code, "; ".join(e.message for _d, e in failed), done,
                               [d for d, _e in failed], lanes_left + _described(plan[index + 1:]))
            continue
        try:
            if isinstance(step, CibEdit):
                LiveCib(transport_for(CLUSTER)).edit(step.commands, step.secrets)
            else:
                _apply_host_step(transport_for(target), step, target, notes)
        except HastackError as error:
            _raise_partial(error.code, error.message, done, [describe(target, step)], _described(plan[index + 1:]))
        done.append(describe(target, step))
    return done


def _described(plan: Plan) -> list[str]:
    return [describe(t, s) for t, s in sequential(plan)]


def _raise_partial(code: str, message: str, done: list[str], failed: list[str], left: list[str]):
    raise HastackError(code, f"{message}\n  applied before the failure: {done or 'nothing'}"
                             f"\n  failed: {'; '.join(failed)}\n  not applied: {left or 'nothing'}") from None


def _apply_lanes(step: Together, transport_for, notes=None) -> tuple[list[str], list[tuple[str, HastackError]], list[str]]:
    """Every lane to its end or its first failure (a lane never stops for another's failure:
    its host would be left between two steps): (done, [(failed step, error)], not applied)."""
    def lane(node: str, steps) -> tuple[list[str], tuple[str, HastackError] | None, list[str]]:
        done = []
        for i, host_step in enumerate(steps):
            try:
                _apply_host_step(transport_for(node), host_step, node, notes)
            except HastackError as error:
                return done, (describe(node, host_step), error), [describe(node, s) for s in steps[i + 1:]]
            done.append(describe(node, host_step))
        return done, None, []

    with ThreadPoolExecutor(max_workers=len(step.lanes)) as pool:
        results = [f.result() for f in [pool.submit(lane, node, steps) for node, steps in step.lanes]]
    return ([d for r in results for d in r[0]], [r[1] for r in results if r[1] is not None],
            [x for r in results for x in r[2]])


def _apply_host_step(transport: Transport, step: Step, node: str = "", notes: list | None = None) -> None:
    if isinstance(step, Run):
        result = transport.run(step.argv, step.stdin, ok_rc=step.ok_rc, secret_stdin=step.secret_stdin)
        if step.notes and notes is not None:
            notes += [(node, line.strip()) for line in result.stdout.splitlines() if line.strip()]
    elif isinstance(step, Put):
        transport.put(step.path, step.content, step.mode)
    elif isinstance(step, Remove):
        transport.run(["rm", "-f", "--", step.path])
    else:
        raise TypeError(step)


# Where a host file lands in a render directory (first match wins).
RENDER_PATHS = (
    ("/etc/drbd.d/", "drbd/"),
    ("/etc/libvirt/qemu/", "libvirt/"),
    ("/var/lib/hastack/libvirt/", "libvirt/"),
    ("/etc/corosync/", "corosync/"),
    ("/var/lib/hastack/firewall/", "firewall/"),  # each node's nftables file, as the Firewall stages it
)


def render_path(layer: str, host_path: str) -> str:
    host_path = host_path.removesuffix(".hastack-new")  # staged for validation, same file
    if host_path.startswith("/var/lib/hastack/selinux/") and host_path.endswith(".te"):
        return "selinux/" + Path(host_path).name
    for prefix, folder in RENDER_PATHS:
        if host_path.startswith(prefix):
            return f"{layer}/{folder}{host_path[len(prefix):]}"
    return f"{layer}/files{host_path}"


def apply_render(plan: Plan, out: Path, layer: str, cibs: dict[str, FileCib]) -> None:
    """The same plan, written out: files under DIR/<layer>/, the CIB edited by real `pcs -f`
    (queued in `cibs[layer]`; the caller flushes), and every host command listed per host in
    DIR/<layer>/commands/<host>.sh."""
    for target, step in sequential(plan):
        log = out / layer / "commands" / f"{target.lstrip('@')}.sh"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as handle:
            if isinstance(step, CibEdit):
                if layer not in cibs:
                    cibs[layer] = FileCib(out / layer / "cib.xml")
                cibs[layer].edit(step.commands, step.secrets)
                handle.write(quote_for_log(step.commands) + "\n")
            elif isinstance(step, Put):
                handle.write(f"# write {step.path} mode {oct(step.mode)}{' (secret)' if step.secret else ''}\n")
                if not step.secret:
                    _write_once(out / render_path(layer, step.path), step.content)
            elif isinstance(step, Run):
                handle.write(shown(step.argv) + (" < (secret)" if step.secret_stdin else "") + "\n")
            elif isinstance(step, Remove):
                handle.write(shown(["rm", "-f", "--", step.path]) + "\n")


def _write_once(path: Path, content: bytes) -> None:
    """Both nodes get the same files; a node-specific difference would be a bug, so say so."""
    if path.exists() and path.read_bytes() != content:
        raise HastackError("RENDER_CONFLICT", f"{path} differs between nodes")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
