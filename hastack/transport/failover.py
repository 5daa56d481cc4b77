"""The cluster as one transport: a CIB query or patch goes to whichever member answers."""
from __future__ import annotations

from hastack.reports import HastackError
from hastack.transport import UNREACHABLE


class FailoverTransport:
    """Use the first member that can be reached; move on to the next only when a member cannot
    be reached at all (never after a command ran)."""

    def __init__(self, members: list):
        self.members = members
        self.name = "/".join(m.name for m in members)

    def _call(self, method: str, *args, **kwargs):
        errors = []
        # Prefer a member that answers now; wait (connect_wait) only when none does.
        answering = [m for m in self.members if getattr(m, "reachable", lambda: True)()]
        for member in answering or self.members:
            try:
                return getattr(member, method)(*args, **kwargs)
            except HastackError as error:
                if error.code not in UNREACHABLE:
                    raise
                errors.append(str(error))
        raise HastackError("CLUSTER_UNREACHABLE", "no cluster node could be reached: " + "; ".join(errors))

    def run(self, argv, stdin=None, **kwargs):
        return self._call("run", argv, stdin, **kwargs)

    def put(self, path, content, mode=0o644):
        return self._call("put", path, content, mode)

    def read(self, path):
        return self._call("read", path)
