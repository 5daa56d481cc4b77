"""Benchmarks: how render and preview (and, with --lab, up and a no-op up) grow with the VMs.

    source setup/env.sh; python bench/run.py [--vms 2,6,12,24] [--lab]

Stacks of N VMs are derived from Pulumi.lab5.yaml (minors and port pairs allocated in order, as
the seed's playbook does).  Writes bench/results/<UTC time>.json and prints a table.  With --lab,
`up` runs against the lab stack and counts SSH round trips through HASTACK_SSH_TRACE.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hastack import cib  # noqa: E402
from hastack.config.load import unseal, validate  # noqa: E402


def stack_document(vms: int) -> dict:
    document = yaml.safe_load((ROOT / "Pulumi.lab5.yaml").read_text())
    config = document["config"]
    template = next(v for v in config["hastack:vms"] if v["name"] == "gw1")
    generated = []
    for i in range(vms):
        vm = copy.deepcopy(template)
        vm.update(name=f"vm{i:02d}", drbd_minor=i, drbd_ports=[7789 + 2 * i, 7790 + 2 * i],
                  preferred_node="node1" if i % 2 == 0 else "node2")
        generated.append(vm)
    config["hastack:vms"] = generated
    guest = config["hastack:guest"]
    for index, node in enumerate(guest["nodes"]):
        node["vm"] = generated[index]["name"]
    return document


def timed(argv, env, cwd=ROOT) -> float:
    start = time.monotonic()
    process = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if process.returncode != 0:
        raise SystemExit(f"{argv} failed:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    return time.monotonic() - start


def bench_render(vms: int) -> dict:
    from commands.render import render

    config = validate(unseal({k.split(":", 1)[1]: v for k, v in stack_document(vms)["config"].items()}))
    cib.COUNTERS["pcs"] = 0
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as out:
        resources = render(config, f"bench{vms}", Path(out) / "r")
    return {"render_s": round(time.monotonic() - start, 2), "pcs_calls": cib.COUNTERS["pcs"],
            "resources": len(resources)}


def bench_preview(vms: int, env: dict) -> dict:
    stack = f"bench{vms}"
    path = ROOT / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(stack_document(vms), sort_keys=False))
    try:
        subprocess.run(["pulumi", "stack", "init", stack], env=env, cwd=ROOT, capture_output=True)
        return {"preview_s": round(timed(["pulumi", "preview", "--stack", stack], env), 2)}
    finally:
        path.unlink()


def bench_lab(env: dict) -> dict:
    """up and a no-op up on the lab stack, with SSH round trips."""
    results = {}
    for label in ("up", "noop_up"):
        trace = Path(tempfile.mkstemp(prefix="hastack-ssh-")[1])
        lab_env = dict(env, HASTACK_SSH_TRACE=str(trace), PULUMI_CONFIG_PASSPHRASE="hastack-lab")
        seconds = timed(["pulumi", "up", "--stack", "lab", "--yes", "--skip-preview"], lab_env)
        lines = trace.read_text().splitlines()
        trace.unlink()
        results[label] = {"seconds": round(seconds, 1), "ssh_round_trips": len(lines)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", default="2,6,12,24")
    parser.add_argument("--lab", action="store_true", help="also time up / no-op up on the running lab")
    args = parser.parse_args()
    env = dict(os.environ, PULUMI_CONFIG_PASSPHRASE="hastack-lab5-example")
    backend = tempfile.mkdtemp(prefix="hastack-bench-backend-")
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    preview_env = dict(env, PULUMI_BACKEND_URL=f"file://{backend}")
    rows = []
    for vms in (int(v) for v in args.vms.split(",")):
        row = {"vms": vms, **bench_render(vms), **bench_preview(vms, preview_env)}
        rows.append(row)
        print(f"{vms:3d} VMs: render {row['render_s']:6.1f} s ({row['pcs_calls']} pcs calls, "
              f"{row['resources']} resources), preview {row['preview_s']:5.1f} s", flush=True)
    result = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
              "rows": rows}
    if args.lab:
        result["lab"] = bench_lab(env)
        print(json.dumps(result["lab"], indent=1))
    out = ROOT / "bench" / "results" / (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
