"""python -m hastack render | check | simulate | drill | drill-plot | config-reference | graph | lab ..."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hastack.reports import HastackError


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "lab":
        from hastack.lab.cli import main as lab_main

        return lab_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m hastack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lab", help="start, stop and inspect the local lab (see: lab --help)")
    render = sub.add_parser("render", help="write every artefact a stack puts on its hosts, offline")
    render.add_argument("--stack", required=True)
    render.add_argument("--out", required=True, type=Path)
    simulate = sub.add_parser("simulate", help="run the seed's failure scenarios through crm_simulate")
    simulate.add_argument("--stack", required=True)
    simulate.add_argument("--scenario", action="append", help="only these scenarios (repeatable)")
    drill = sub.add_parser("drill", help="inject the seed's failures into a live stack and measure them (destructive)")
    drill.add_argument("--stack", required=True)
    drill.add_argument("--scenario", action="append", help="only these scenarios (repeatable; default: all nine)")
    drill.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    drill.add_argument("--out", type=Path, help="where the report goes (default: out/drill/<stack>-<time>)")
    plot = sub.add_parser("drill-plot", help="redraw each scenario's timeline picture from a drill's drill.json")
    plot.add_argument("dir", type=Path, help="the directory a drill wrote (drill.json); the pictures go beside it")
    check = sub.add_parser("check", help="validate a stack's config and run the policy pack's rules over it, offline")
    check.add_argument("--stack", required=True)
    check.add_argument("--policy-config", type=Path,
                       help="a pulumi-policy config file, as `pulumi preview --policy-pack-config` takes")
    reference = sub.add_parser("config-reference", help="write docs/config-reference.md from the config models")
    reference.add_argument("--out", type=Path, help="where to write it (default: docs/config-reference.md)")
    reference.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file differs")
    graph = sub.add_parser("graph", help="draw the stack's resources per layer from `pulumi preview` (no host contacted)")
    graph.add_argument("--stack", required=True)
    graph.add_argument("--out", type=Path, default=Path("docs/graph"), help="directory for <stack>-<layer>.dot/.svg")
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HastackError as error:
        print(f"ERROR {error}", file=sys.stderr)
        return 2


def cmd_render(args) -> int:
    from commands.render import render
    from hastack.config.load import load_stack

    config = load_stack(args.stack)
    done = render(config, args.stack, args.out)
    print(f"rendered {len(done)} resources of stack {args.stack} into {args.out} (secrets masked)")
    return 0


def cmd_check(args) -> int:
    """The config's validation, then the policy pack's rules over the resources the program would
    register (under Pulumi's mocks, as render does): what `pulumi preview --policy-pack policy`
    would refuse is refused here, with the rule's message."""
    import json

    from commands.render import policy_resources
    from hastack.config.load import load_stack
    from hastack.policy_rules import run_pack
    from hastack.reports import Severity

    config = load_stack(args.stack)
    print(f"{args.stack}: valid; hypervisor cluster {config.hypervisor.name}, {len(config.vms)} VMs"
          + (f", guest cluster {config.guest.name}" if config.guest else ""))
    pack_config = None
    if args.policy_config:
        try:
            pack_config = json.loads(args.policy_config.read_text())
        except (OSError, ValueError) as error:
            raise HastackError("POLICY_CONFIG", f"{args.policy_config}: cannot read it as a pulumi-policy config "
                               f"file ({error}); give a JSON mapping, e.g. {{\"drbd-two-paths\": \"advisory\"}}")
        if not isinstance(pack_config, dict):
            raise HastackError("POLICY_CONFIG", f"{args.policy_config} is not a JSON mapping of rule names")
    reports = run_pack(*policy_resources(config, args.stack), pack_config=pack_config)
    for report in reports:
        print(report, file=sys.stderr)
    errors = sum(r.severity == Severity.ERROR for r in reports)
    if errors:
        print(f"{args.stack}: refused by the policy pack: {errors} mandatory finding(s); fix them, or lower the rule "
              "in a pulumi-policy config (--policy-config, as `pulumi preview --policy-pack-config`)", file=sys.stderr)
        return 2
    print(f"{args.stack}: the policy pack passes ({len(reports)} advisory finding(s))")
    return 0


def cmd_simulate(args) -> int:
    from commands.render import render
    from hastack.scenarios import main as scenarios_main

    return scenarios_main(args, render)


def cmd_drill(args) -> int:
    import time

    from hastack.config.load import PROJECT_ROOT, load_stack, load_stack_with_secrets
    from hastack.drill import run as drill
    from hastack.drill.scenarios import ORDER

    only = args.scenario or list(ORDER)
    unknown = [s for s in only if s not in ORDER]
    if unknown:
        raise HastackError("DRILL_UNKNOWN", f"no scenario {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    if not load_stack(args.stack).drills.allowed:
        raise HastackError("DRILLS_NOT_ALLOWED", f"stack {args.stack} does not allow drills: they power off hosts, "
                           "cut cluster links and kill VMs. Only on a stack built to be failed (the lab), set "
                           "`hastack:drills: {allowed: true}` in its stack file")
    if not args.yes:
        answer = input(f"Drill {', '.join(only)} on stack {args.stack}: its hosts will be failed for real. "
                       f"Type the stack name to go on: ")
        if answer.strip() != args.stack:
            print("drill: not confirmed, nothing done")
            return 1
    import logging

    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # hosts vanish on purpose; errors are reported
    config = load_stack_with_secrets(args.stack)
    out = args.out or PROJECT_ROOT / "out" / "drill" / f"{args.stack}-{time.strftime('%Y%m%d-%H%M%S')}"
    results = drill.run(config, only, out, predictions=_predictions(config, args.stack, only, out / "render"))
    print((out / "report.md").read_text())
    print(f"drill: report in {out}/report.md, every sample and event in {out}/drill.json")
    return 0 if results and all(r.ok for r in results) and len(results) == len(only) else 1


def _predictions(config, stack: str, only: list[str], render_dir: Path) -> dict[str, str]:
    """What `hastack simulate` says each scenario does, to stand beside the live run."""
    from commands.render import render
    from hastack.scenarios import run_scenarios

    try:
        render(config, stack, render_dir)
        return {o.id: o.short() for o in run_scenarios(config, render_dir, only)}
    except HastackError as error:
        return {sid: f"(simulate failed: {error.code})" for sid in only}


def cmd_drill_plot(args) -> int:
    import json

    from hastack.drill.plot import write_timelines

    path = args.dir / "drill.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HastackError("DRILL_RESULTS", f"{path}: cannot read a drill's results ({error}); give the directory "
                           "`python -m hastack drill` wrote (default: out/drill/<stack>-<time>)")
    try:
        paths = write_timelines(args.dir, results)
    except (KeyError, TypeError, AttributeError) as error:
        raise HastackError("DRILL_RESULTS", f"{path} does not hold a drill's results as `hastack drill` writes them "
                           f"(a list of scenario results; {type(error).__name__}: {error})")
    for written in paths:
        print(f"wrote {written}")
    return 0


def cmd_config_reference(args) -> int:
    """The config reference, rendered from hastack/config/models.py (a unit test keeps it current)."""
    from hastack.config.load import PROJECT_ROOT
    from hastack.config.reference import COMMAND, PATH, render_config_reference

    path = args.out or PROJECT_ROOT / PATH
    text = render_config_reference()
    if args.check:
        current = path.read_text() if path.is_file() else None
        if current == text:
            print(f"{path}: current")
            return 0
        print(f"{path} differs from the config models: run `{COMMAND}` to regenerate it", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return 0


def cmd_graph(args) -> int:
    from commands.graph import preview_steps, write_graphs

    for path in write_graphs(args.stack, args.out, preview_steps(args.stack)):
        print(f"wrote {path}")
    return 0


COMMANDS = {"graph": cmd_graph, "render": cmd_render, "check": cmd_check, "simulate": cmd_simulate, "drill": cmd_drill,
            "drill-plot": cmd_drill_plot, "config-reference": cmd_config_reference}
