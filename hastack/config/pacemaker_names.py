"""The names Pacemaker 2.1 knows for cluster properties and resource meta-attributes.

Pacemaker ignores a property or meta-attribute it does not know: `stonith-enable: "true"` or
`resource-stickness: "101"` is stored in the CIB and then silently does nothing.  The config
refuses any name not listed here, so a misspelling never drops a safety setting.

CLUSTER_OPTIONS is what Pacemaker 2.1.5's daemons report as their cluster options
(`pacemaker-schedulerd metadata`, `pacemaker-controld metadata`, `pacemaker-based metadata`;
tests/unit/test_pacemaker_names.py checks the list against the installed binaries).
RESOURCE_META is the resource meta-attributes of Pacemaker Explained 2.1 (primitive options, guest
node options, clone and promotable clone options: all valid in rsc_defaults).  No 2.1 binary
prints those; the same test checks that each is a name the installed Pacemaker libraries hold.
"""
from __future__ import annotations

import difflib
import re

CLUSTER_OPTIONS = frozenset({
    # pacemaker-schedulerd
    "no-quorum-policy", "symmetric-cluster", "maintenance-mode", "start-failure-is-fatal",
    "enable-startup-probes", "shutdown-lock", "shutdown-lock-limit", "stonith-enabled", "stonith-action",
    "stonith-timeout", "have-watchdog", "concurrent-fencing", "startup-fencing", "priority-fencing-delay",
    "cluster-delay", "batch-limit", "migration-limit", "stop-all-resources", "stop-orphan-resources",
    "stop-orphan-actions", "remove-after-stop", "pe-error-series-max", "pe-warn-series-max",
    "pe-input-series-max", "node-health-strategy", "node-health-base", "node-health-green",
    "node-health-yellow", "node-health-red", "placement-strategy",
    # pacemaker-controld
    "dc-version", "cluster-infrastructure", "cluster-name", "dc-deadtime", "cluster-recheck-interval",
    "load-threshold", "node-action-limit", "fence-reaction", "election-timeout", "shutdown-escalation",
    "join-integration-timeout", "join-finalization-timeout", "transition-delay", "stonith-watchdog-timeout",
    "stonith-max-attempts",
    # pacemaker-based
    "enable-acl", "cluster-ipc-limit",
})

# Pacemaker sets these itself (Pacemaker Explained marks them read-only): a configured value is
# overwritten, or misleads.
READ_ONLY_OPTIONS = frozenset({"dc-version", "cluster-infrastructure", "have-watchdog"})

RESOURCE_META = frozenset({
    # every resource
    "priority", "critical", "target-role", "is-managed", "maintenance", "resource-stickiness", "requires",
    "migration-threshold", "failure-timeout", "multiple-active", "allow-migrate", "allow-unhealthy-nodes",
    "container-attribute-target",
    # guest nodes
    "remote-node", "remote-port", "remote-addr", "remote-connect-timeout",
    # clones and promotable clones
    "globally-unique", "clone-max", "clone-node-max", "clone-min", "notify", "ordered", "interleave",
    "promotable", "promoted-max", "promoted-node-max",
})


def unknown_name(name: str, known: frozenset[str], what: str) -> str | None:
    """The error for a name Pacemaker would ignore (None if it knows it), with the nearest names."""
    if name in known:
        if name in READ_ONLY_OPTIONS and known is CLUSTER_OPTIONS:
            return (f"{name!r} is set by Pacemaker itself (read-only): a configured value is overwritten; "
                    "remove it")
        return None
    near = difflib.get_close_matches(name, sorted(known - READ_ONLY_OPTIONS), n=3, cutoff=0.8)
    fix = (f"did you mean {' or '.join(repr(n) for n in near)}?" if near
           else f"use one of {', '.join(sorted(known - READ_ONLY_OPTIONS))}")
    return (f"{name!r} is not a {what} Pacemaker 2.1 knows, so Pacemaker would store it and silently "
            f"ignore it; {fix}")


# What each name takes.  Pacemaker reads a cluster property it cannot parse as the option's default
# and a meta-attribute as 0 or false (`resource-stickiness: INFINTY` is 0, `interleave: ture` is
# false): a misspelt value drops the setting as silently as a misspelt name.  The cluster options'
# kinds and choices are what their daemons' metadata says (tests/unit/test_pacemaker_names.py).
BOOLEAN, TIME, INTEGER, PERCENTAGE, TEXT = "boolean", "time", "integer", "percentage", "string"
OPTION_VALUES: dict[str, str | tuple[str, ...]] = {
    **dict.fromkeys(("symmetric-cluster", "maintenance-mode", "start-failure-is-fatal", "enable-startup-probes",
                     "shutdown-lock", "stonith-enabled", "have-watchdog", "concurrent-fencing", "startup-fencing",
                     "stop-all-resources", "stop-orphan-resources", "stop-orphan-actions", "remove-after-stop",
                     "enable-acl"), BOOLEAN),
    **dict.fromkeys(("shutdown-lock-limit", "stonith-timeout", "priority-fencing-delay", "cluster-delay",
                     "dc-deadtime", "cluster-recheck-interval", "election-timeout", "shutdown-escalation",
                     "join-integration-timeout", "join-finalization-timeout", "transition-delay",
                     "stonith-watchdog-timeout"), TIME),
    **dict.fromkeys(("batch-limit", "migration-limit", "pe-error-series-max", "pe-warn-series-max",
                     "pe-input-series-max", "node-health-base", "node-health-green", "node-health-yellow",
                     "node-health-red", "node-action-limit", "stonith-max-attempts", "cluster-ipc-limit"), INTEGER),
    "load-threshold": PERCENTAGE,
    "no-quorum-policy": ("stop", "freeze", "ignore", "demote", "suicide"),
    "stonith-action": ("reboot", "off", "poweroff"),
    "node-health-strategy": ("none", "migrate-on-red", "only-green", "progressive", "custom"),
    "placement-strategy": ("default", "utilization", "minimal", "balanced"),
    "fence-reaction": ("stop", "panic"),
    **dict.fromkeys(("dc-version", "cluster-infrastructure", "cluster-name"), TEXT),
}
META_VALUES: dict[str, str | tuple[str, ...]] = {
    **dict.fromkeys(("critical", "is-managed", "maintenance", "allow-migrate", "allow-unhealthy-nodes",
                     "globally-unique", "notify", "ordered", "interleave", "promotable"), BOOLEAN),
    **dict.fromkeys(("priority", "resource-stickiness", "migration-threshold", "remote-port", "clone-max",
                     "clone-node-max", "clone-min", "promoted-max", "promoted-node-max"), INTEGER),
    **dict.fromkeys(("failure-timeout", "remote-connect-timeout"), TIME),
    "target-role": ("Stopped", "Started", "Unpromoted", "Promoted", "Slave", "Master"),
    "requires": ("nothing", "quorum", "fencing", "unfencing"),
    "multiple-active": ("block", "stop_only", "stop_start", "stop_unexpected"),
    **dict.fromkeys(("container-attribute-target", "remote-node", "remote-addr"), TEXT),
}

_BOOLEANS = ("true", "false", "yes", "no", "on", "off", "y", "n", "1", "0")
# crm_get_msec's units (a bare number is seconds), or an ISO 8601 duration.
_TIME = re.compile(r"^\s*-?[0-9]+\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$|^P(?=.)([0-9]+[YMWD])*(T([0-9]+[HMS])+)?$",
                   re.IGNORECASE)
_SCORE = re.compile(r"^\s*[-+]?([0-9]+|INFINITY)\s*$", re.IGNORECASE)
_PERCENTAGE = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*%?\s*$")
INFINITY = 1_000_000


def score(value: str) -> int:
    """A Pacemaker score (an integer, or [+-]INFINITY) as a number; ValueError if it is none."""
    text = value.strip().upper()
    if text.lstrip("+-") == "INFINITY":
        return -INFINITY if text.startswith("-") else INFINITY
    return max(-INFINITY, min(INFINITY, int(text)))


def bad_value(name: str, value: str, kinds: dict[str, str | tuple[str, ...]]) -> str | None:
    """The error for a value Pacemaker could not parse for this name (None if it can)."""
    kind = kinds.get(name, TEXT)
    if isinstance(kind, tuple):
        if value.strip().lower() in (k.lower() for k in kind):
            return None
        fix = f"use one of {', '.join(kind)}"
    elif kind == BOOLEAN:
        if value.strip().lower() in _BOOLEANS:
            return None
        fix = 'write "true" or "false"'
    elif kind == TIME:
        if _TIME.match(value):
            return None
        fix = "write a duration, e.g. 60s, 500ms or 2min"
    elif kind == INTEGER:
        if _SCORE.match(value):
            return None
        fix = "write a whole number, or INFINITY / -INFINITY"
    elif kind == PERCENTAGE:
        if _PERCENTAGE.match(value):
            return None
        fix = "write a percentage, e.g. 80%"
    else:
        return None
    return f"{name}={value!r} is not a value Pacemaker reads for it, so it would silently use another instead; {fix}"
