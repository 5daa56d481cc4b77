"""python -m hastack render | simulate | lab ..."""
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
    check = sub.add_parser("check", help="validate a stack's config and print it as hastack reads it")
    check.add_argument("--stack", required=True)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HastackError as error:
        print(f"ERROR {error}", file=sys.stderr)
        return 2


def cmd_render(args) -> int:
    from components.render import render
    from hastack.config.load import load_stack

    config = load_stack(args.stack)
    done = render(config, args.stack, args.out)
    print(f"rendered {len(done)} resources of stack {args.stack} into {args.out} (secrets masked)")
    return 0


def cmd_check(args) -> int:
    from hastack.config.load import load_stack

    config = load_stack(args.stack)
    print(f"{args.stack}: valid; hypervisor cluster {config.hypervisor.name}, {len(config.vms)} VMs"
          + (f", guest cluster {config.guest.name}" if config.guest else ""))
    return 0


def cmd_simulate(args) -> int:
    from hastack.scenarios import main as scenarios_main

    return scenarios_main(args)


COMMANDS = {"render": cmd_render, "check": cmd_check, "simulate": cmd_simulate}
