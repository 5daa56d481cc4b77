"""`python -m hastack graph`: the stack's resource graph, from the real program's `pulumi preview`.

`pulumi stack graph` needs a deployed stack; `pulumi preview --json` does not, and its steps carry
each resource's parent (its component) and dependencies.  The preview runs in a throwaway file
backend, so no host is contacted and no state is left; the picture is Graphviz's `dot` over the
DOT text `stack_dot` makes: one box per component, the resources in it, an arrow from each
resource to what waits for it (transitively reduced, so only the order that matters is drawn).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hastack.config.load import PROJECT_ROOT
from hastack.reports import HastackError

DYNAMIC = "pulumi-python:dynamic/hastack:"
COMPONENT = "hastack:index:"
# Which layer each component draws in; GuestPgCluster also places the fence account on the
# hypervisors, and is drawn whole in the guest layer.
LAYERS = {"hypervisor": ("HypervisorCluster", "ProtectedVM"), "guest": ("GuestPgCluster",)}
COLOURS = {"HypervisorCluster": "#dbe8f6", "ProtectedVM": "#e4f1dc", "GuestPgCluster": "#f8e6cf"}


def preview_steps(stack: str, root: Path = PROJECT_ROOT) -> list[dict]:
    """The steps of `pulumi preview --json` for the stack, in a throwaway backend."""
    pulumi = root / ".venv" / "bin" / "pulumi"
    if not pulumi.is_file():
        raise HastackError("PULUMI_MISSING", f"no {pulumi.relative_to(root)}: run bin/setup first")
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        raise HastackError("PASSPHRASE_MISSING", f"the preview of {stack} needs its passphrase: set "
                           "PULUMI_CONFIG_PASSPHRASE (lab5: hastack-lab5-example)")
    with tempfile.TemporaryDirectory(prefix="hastack-graph-") as tmp:
        env = dict(os.environ, PATH=f"{pulumi.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   PULUMI_BACKEND_URL=f"file://{tmp}/backend", PULUMI_HOME=f"{tmp}/home",
                   PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true")
        Path(tmp, "backend").mkdir()
        for argv in (["stack", "init", stack], ["preview", "--stack", stack, "--json"]):
            result = subprocess.run([str(pulumi), *argv, "--non-interactive"], cwd=root, env=env,
                                    capture_output=True, text=True, timeout=900)
            if result.returncode != 0:
                raise HastackError("PREVIEW_FAILED", f"pulumi {' '.join(argv)} exited {result.returncode}: "
                                   f"{(result.stderr or result.stdout)[-2000:]}")
    return json.loads(result.stdout)["steps"]


def _short(urn: str) -> tuple[str, str]:
    """(type, name) of a urn: `...::hastack:index:X$pulumi-python:dynamic/hastack:T::name` -> (T, name)."""
    kinds, name = urn.rsplit("::", 2)[-2:]
    kind = kinds.split("$")[-1]
    return kind.removeprefix(DYNAMIC).removeprefix(COMPONENT), name


def _reduced(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Drop every edge a longer path already implies."""
    after: dict[str, set[str]] = {}
    for a, b in edges:
        after.setdefault(a, set()).add(b)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in after.get(node, ()):
                if (node, nxt) != skip and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return {(a, b) for a, b in edges if b not in reachable(a, (a, b))}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stack_dot(steps: list[dict], layer: str | None = None, title: str = "") -> str:
    """DOT of the previewed resources (one layer's components, or all): a cluster per component,
    an edge from each dependency to its dependent; a dependency outside the drawn layer is a
    dashed node, named as in the preview."""
    states = [s["newState"] for s in steps]
    components = {st["urn"]: _short(st["urn"]) for st in states if st["type"].startswith(COMPONENT)}
    wanted = set(LAYERS[layer]) if layer else {kind for kind, _ in components.values()}
    drawn = {st["urn"]: st for st in states
             if st["type"].startswith(DYNAMIC) and components.get(st.get("parent"), ("",))[0] in wanted}
    edges = {(dep, urn) for urn, st in drawn.items() for dep in st.get("dependencies", [])
             if dep in drawn or dep.split("::")[-2].split("$")[-1].startswith(DYNAMIC)}
    edges = _reduced(edges)
    ids = {urn: f"r{i}" for i, urn in enumerate(sorted(set(drawn) | {a for a, _ in edges}))}
    lines = ["digraph hastack {", "  rankdir=LR; newrank=true; compound=true;",
             '  graph [fontname="Helvetica", fontsize=12, labeljust=l' + (f", label={_quote(title)}, labelloc=t" if title else "") + "];",
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=9];',
             '  edge [color="#555555", arrowsize=0.6];']
    by_parent: dict[str, list[str]] = {}
    for urn, st in drawn.items():
        by_parent.setdefault(st["parent"], []).append(urn)
    for n, parent in enumerate(sorted(by_parent, key=lambda u: components[u])):
        kind, name = components[parent]
        lines.append(f"  subgraph cluster_{n} {{")
        lines.append(f'    label={_quote(f"{kind} {name}")}; style="rounded,filled"; fillcolor="{COLOURS.get(kind, "#eeeeee")}";')
        for urn in sorted(by_parent[parent]):
            rtype, rname = _short(urn)
            label = f"{rtype}\\n{rname.removeprefix(name + '-')}"
            where = drawn[urn].get("inputs", {}).get("layer")
            if layer and where and where != layer:  # e.g. the guests' fence account, on the hypervisors
                label += f"\\n(on the {where} nodes)"
            lines.append(f'    {ids[urn]} [label="{label}"];')
        lines.append("  }")
    for urn in sorted(set(ids) - set(drawn)):
        rtype, rname = _short(urn)
        lines.append(f'  {ids[urn]} [label="{rtype}\\n{rname}", style="rounded,dashed"];')
    lines += [f"  {ids[a]} -> {ids[b]};" for a, b in sorted(edges, key=lambda e: (ids[e[0]], ids[e[1]]))]
    lines.append("}")
    return "\n".join(lines) + "\n"


def layer_dot(stack: str, layer: str, steps: list[dict]) -> str:
    """The DOT text of one layer's picture, as `write_graphs` writes it."""
    return stack_dot(steps, layer, f"{stack}: the {layer} layer, from `pulumi preview` (arrows: what waits for what)")


def write_graphs(stack: str, out: Path, steps: list[dict]) -> list[Path]:
    """<out>/<stack>-<layer>.dot and .svg per layer; refused without Graphviz's `dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise HastackError("GRAPHVIZ_MISSING", "no `dot` on PATH: install graphviz (setup/apt-packages.txt has it)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for layer in LAYERS:
        text = layer_dot(stack, layer, steps)
        dot_path, svg_path = out / f"{stack}-{layer}.dot", out / f"{stack}-{layer}.svg"
        dot_path.write_text(text)
        subprocess.run([dot, "-Tsvg", "-o", str(svg_path), str(dot_path)], check=True, timeout=120)
        written += [dot_path, svg_path]
    return written
