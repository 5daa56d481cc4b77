"""The crm_master patch of the ocf:linbit:drbd agent.

The seed shows two versions.  The hypervisor one keeps -q/-Q; the guest one drops them, and
without -q `crm_attribute -G` prints `scope=... name=... value=N` instead of N, which the agent
then fails to parse.  hastack applies the hypervisor form on both layers.  --promotion already
implies `-l reboot` and the master-<resource> attribute name.
"""
from __future__ import annotations

AGENT_PATH = "/usr/lib/ocf/resource.d/linbit/drbd"
BACKUP_PATH = AGENT_PATH + ".orig"

SUBSTITUTIONS = (
    ("crm_master -q -l reboot -G", "crm_attribute --promotion -q -G"),
    ("crm_master -Q -l reboot -v", "crm_attribute --promotion -Q -v"),
    ("crm_master -l reboot -D", "crm_attribute --promotion -D"),
)


def render_sed_script() -> str:
    return "".join(f"s|{old}|{new}|g\n" for old, new in SUBSTITUTIONS)


def is_patched(agent_text: str) -> bool:
    return "crm_master" not in _code_lines(agent_text)


def _code_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
