"""Run many pcs commands in one pcs process (pcs's own interpreter, its own `pcs.app.main`).

Each `pcs` start costs ~0.45 s here (and ~6.5 s under emulation), nearly all of it importing
pcs; the commands themselves take milliseconds.  The argv are exactly what `pcs` would get, so
the result is the same CIB.  This file runs under pcs's interpreter and imports nothing of
hastack.  stdin: a JSON list of argv lists.  Stops at the first failing command: its index goes
to stdout as JSON, pcs's own messages to stderr.
"""
import json
import sys

import pcs.app  # noqa: E402  (pcs's interpreter has it)


def main() -> int:
    commands = json.load(sys.stdin)
    for index, argv in enumerate(commands):
        try:
            pcs.app.main(list(argv))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if code:
            json.dump({"failed": index, "exit_code": code}, sys.stdout)
            return code
    json.dump({"failed": None, "count": len(commands)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
