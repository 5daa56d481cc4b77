"""python -m hastack render | simulate | lab ..."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "lab":
        from hastack.lab.cli import main as lab_main

        return lab_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m hastack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lab", help="start, stop and inspect the local lab (see: lab --help)")
    args = parser.parse_args(argv)
    parser.error(f"unknown command {args.command}")
    return 2
