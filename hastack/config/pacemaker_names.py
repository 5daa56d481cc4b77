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
