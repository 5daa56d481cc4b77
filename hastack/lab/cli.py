"""python -m hastack lab up|down|status|id|ssh HOST [cmd...]|power HOST on|off|cycle|status"""
from __future__ import annotations

import argparse

from hastack.lab.topology import HOSTS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hastack lab", description="the local lab of emulated hosts")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="build the image if needed and start the lab (reuses a running one)")
    sub.add_parser("down", help="stop everything and remove every trace of the lab")
    sub.add_parser("status", help="each host, its SSH forward port and its power state")
    sub.add_parser("id", help="the running lab's id (new each time a lab is created)")
    s = sub.add_parser("ssh", help="open a shell or run a command on a lab host")
    s.add_argument("host", choices=[h.name for h in HOSTS])
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    w = sub.add_parser("power", help="power a host through its BMC (guests: directly)")
    w.add_argument("host", choices=[h.name for h in HOSTS])
    w.add_argument("action", choices=["on", "off", "cycle", "status"])
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from hastack.lab import lab

    if args.command == "up":
        return lab.up()
    if args.command == "down":
        return lab.down()
    if args.command == "status":
        return lab.status()
    if args.command == "id":
        return lab.lab_id()
    if args.command == "ssh":
        return lab.ssh(args.host, args.cmd)
    return lab.power(args.host, args.action)
