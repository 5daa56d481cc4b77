"""The Pacemaker alert agent that feeds Nagios through NSCA-ng, and the client config it reads.

Pacemaker runs the agent (as user hacluster) once per event and recipient, with the event in
`CRM_alert_*` variables.  The agent turns it into one passive service result on the layer's
event-feed service (`ALERT_RULES` below, rendered into the script and stated in docs/monitoring.md)
and pipes it to `send_nsca -c <config>`.  The password lives only in that config file (mode 0600,
owner hacluster): never on a command line, in the environment or in the script.

Every event goes to one service per cluster, not to the nodes' Nagios hosts: the guests' hosts are
checked actively (ping, NRPE), and a passive DOWN from an alert would fight those checks; the
hypervisors need not be Nagios hosts at all.  The feed's value is Nagios's log of each result.

Values from Pacemaker are data, never code: they reach the output only as printf arguments, with
control characters (newlines, tabs, NSCA-ng's ETB separator) turned into spaces and `|` (where
Nagios's perfdata starts) into `/`.

components/monitoring.py installs the script and the client config on every node of each alerting
layer, and the server side (`render_nsca_authorize`) on the Nagios server.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

AGENT_PATH = "/usr/local/bin/alert_nsca.sh"  # the seed's path (pcs alert create path=...)
# The seed's `pcs alert create id=nsca-alert ...; pcs alert recipient add nsca-alert id=nsca-recipient value=nagios`.
ALERT_ID, RECIPIENT = "nsca-alert", ("nsca-recipient", "nagios")
CONFIG_PATH = "/etc/pacemaker/alert_nsca.cfg"  # not /etc/send_nsca.cfg: the package owns that conffile
CONFIG_MODE = 0o600
CONFIG_OWNER = "hacluster"  # Pacemaker runs alert agents as hacluster
FEED_SERVICE = "Pacemaker events"
MAX_OUTPUT = 1000  # characters of plugin output; Nagios keeps more, an operator reads less

# Event fields the templates may use: template name -> the variable Pacemaker sets.
FIELDS = {
    "kind": "CRM_alert_kind",
    "node": "CRM_alert_node",
    "rsc": "CRM_alert_rsc",
    "task": "CRM_alert_task",
    "rc": "CRM_alert_rc",
    "target_rc": "CRM_alert_target_rc",
    "status": "CRM_alert_status",
    "desc": "CRM_alert_desc",
    "name": "CRM_alert_attribute_name",
    "value": "CRM_alert_attribute_value",
    "timestamp": "CRM_alert_timestamp",
}
# Derived in the script: " (interval N ms)" for a recurring operation, else "".
DERIVED = {"interval": 'interval=""; [[ "${CRM_alert_interval:-0}" != 0 ]] && '
                       'interval=" (interval ${CRM_alert_interval}ms)"'}


@dataclass(frozen=True)
class Condition:
    name: str
    shell: str  # a bash test over the field variables
    meaning: str  # for the table in docs/monitoring.md


CONDITIONS = {c.name: c for c in (
    Condition("always", "true", "otherwise"),
    Condition("member", '[[ "$desc" == member ]]', "desc is `member` (the node joined)"),
    Condition("lost", '[[ "$desc" == lost ]]', "desc is `lost` (the node left or died)"),
    Condition("rc-0", '[[ "$rc" == 0 ]]', "rc is 0 (the fence succeeded)"),
    Condition("cancelled", '[[ "$desc" == Cancelled ]]', "desc is `Cancelled` (an operation called off)"),
    Condition("expected", '[[ -n "$rc" && "$rc" == "${target_rc:-0}" && "${status:-0}" == 0 ]]',
              "rc is the expected rc (target_rc) and the execution status is 0 (done)"),
    Condition("fail-count", '[[ "$name" == fail-count-* && -n "$value" && "$value" != 0 ]]',
              "a `fail-count-*` attribute set to a non-zero value"),
)}

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN", None: "not sent"}


@dataclass(frozen=True)
class AlertRule:
    """For events of `kind`, the first rule whose condition holds says what Nagios gets."""

    kind: str
    when: str  # a key of CONDITIONS
    state: int | None  # None: nothing is sent
    text: str  # plugin output, with {field} from FIELDS or DERIVED


ALERT_RULES = (
    AlertRule("node", "member", OK, "node {node} joined the cluster"),
    AlertRule("node", "lost", CRITICAL, "node {node} lost from the cluster"),
    AlertRule("node", "always", WARNING, "node {node} is now {desc}"),
    AlertRule("fencing", "rc-0", WARNING, "node {node} fenced ({task}): {desc}"),
    AlertRule("fencing", "always", CRITICAL, "fencing of {node} ({task}) FAILED, rc {rc}: {desc}"),
    AlertRule("resource", "cancelled", None, ""),
    AlertRule("resource", "expected", OK, "{rsc} {task}{interval} on {node}: {desc}"),
    AlertRule("resource", "always", CRITICAL,
              "{rsc} {task}{interval} on {node} FAILED: {desc} (rc {rc}, expected {target_rc})"),
    AlertRule("attribute", "fail-count", WARNING, "{name}={value} on {node}"),
    AlertRule("attribute", "always", OK, "attribute {name}={value} on {node}"),
)
UNKNOWN_KIND_TEXT = "unknown alert kind {kind}"
KINDS = tuple(dict.fromkeys(r.kind for r in ALERT_RULES))

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _printf(template: str) -> tuple[str, list[str]]:
    """A printf format (the template's own text, `%` escaped) and the variables it takes, in order."""
    names = _PLACEHOLDER.findall(template)
    unknown = [n for n in names if n not in FIELDS and n not in DERIVED]
    if unknown:
        raise ValueError(f"alert rule text {template!r} uses unknown fields {unknown}")
    fmt = _PLACEHOLDER.sub("%s", template.replace("%", "%%"))
    return fmt, [f'"${n}"' for n in names]


def _safe_name(value: str, what: str) -> str:
    # A Nagios host or service name travels in a tab-separated line: no control character.
    if not value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} {value!r} is empty or has a control character")
    return value


def mapping_table() -> str:
    """The rules as the Markdown table docs/monitoring.md shows (a unit test keeps them equal)."""
    lines = ["| kind | when | Nagios state | plugin output |", "| --- | --- | --- | --- |"]
    for rule in ALERT_RULES:
        text = f"`{rule.text}`" if rule.text else "(nothing sent)"
        lines.append(f"| {rule.kind} | {CONDITIONS[rule.when].meaning} | {STATE_NAMES[rule.state]} | {text} |")
    lines.append(f"| any other | always | UNKNOWN | `{UNKNOWN_KIND_TEXT}` |")
    return "\n".join(lines) + "\n"


def render_alert_agent(nagios_host: str, service: str = FEED_SERVICE, config_path: str = CONFIG_PATH) -> str:
    """alert_nsca.sh for one cluster: every event becomes a passive result of `service` on `nagios_host`."""
    _safe_name(nagios_host, "Nagios host name")
    _safe_name(service, "Nagios service description")
    reads = "\n".join(f"{name}=${{{var}:-}}" for name, var in FIELDS.items())
    branches = []
    for kind in KINDS:
        arms = []
        for rule in (r for r in ALERT_RULES if r.kind == kind):
            test = CONDITIONS[rule.when].shell
            if rule.state is None:
                body = "exit 0  # not sent"
            else:
                fmt, args = _printf(rule.text)
                body = f"state={rule.state}; printf -v text {shlex.quote(fmt)} {' '.join(args)}".rstrip()
            if rule.when == "always":
                arms.append(f"else {body}")
                break
            arms.append(f"{'elif' if arms else 'if'} {test}; then {body}")
        branches.append(f"    {kind})\n        " + "\n        ".join(arms) + "\n        fi ;;")
    unknown_fmt, unknown_args = _printf(UNKNOWN_KIND_TEXT)
    return f"""#!/bin/bash
# Managed by hastack: Pacemaker alert agent.  Sends each cluster event to Nagios as one passive
# result of {service!r} on host {nagios_host!r}, through send_nsca (NSCA-ng), whose password is in
# {config_path} only.  Values from Pacemaker are printed, never run.
set -u
export LC_ALL=C
PATH="${{PATH:+$PATH:}}/usr/sbin:/usr/bin:/sbin:/bin"
NAGIOS_HOST={shlex.quote(nagios_host)}
SERVICE={shlex.quote(service)}
CONFIG={shlex.quote(config_path)}

{reads}
{DERIVED["interval"]}

# Control characters (newline, tab, NSCA-ng's ETB) would split the result; '|' starts perfdata.
clean() {{
    local s=$1 slash=/
    s=${{s//[[:cntrl:]]/ }}
    s=${{s//[|]/$slash}}
    printf '%s' "${{s:0:{MAX_OUTPUT}}}"
}}

if [[ -z "$kind" ]]; then
    echo "alert_nsca: no CRM_alert_kind: run by Pacemaker as an alert agent" >&2
    exit 1
fi
state={UNKNOWN}
text=""
case "$kind" in
{chr(10).join(branches)}
    *) state={UNKNOWN}; printf -v text {shlex.quote(unknown_fmt)} {' '.join(unknown_args)} ;;
esac
[[ -n "$timestamp" ]] && text="[$timestamp] $text"
text=$(clean "$text (from $(uname -n))")

printf '%s\\t%s\\t%s\\t%s\\n' "$NAGIOS_HOST" "$SERVICE" "$state" "$text" | send_nsca -c "$CONFIG"
rc=$?
[[ $rc -eq 0 ]] || echo "alert_nsca: send_nsca exited $rc for a $kind event" >&2
exit $rc
"""


def _cfg_string(value: str, what: str) -> str:
    """A send_nsca.cfg string: double-quoted, with backslash and quote escaped (send_nsca.cfg(5))."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} has a control character, which send_nsca.cfg cannot hold")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_send_nsca_config(server: str, identity: str, password: str, port: int = 5668, timeout_s: int = 10) -> str:
    """The client config the agent passes to send_nsca -c: install it mode 0600, owner hacluster.
    The message of a refused value never holds the password."""
    return (
        "# Managed by hastack: NSCA-ng client settings of the Pacemaker alert agent (secret: mode 0600).\n"
        f"identity = {_cfg_string(identity, 'identity')}\n"
        f"password = {_cfg_string(password, 'the NSCA-ng password')}\n"
        # After the password, so a test can see the parser read on past it.
        f"server = {_cfg_string(server, 'server')}\n"
        f"port = {int(port)}\n"
        # Pacemaker's alert timeout is 30 s by default: give up before it kills the agent.
        f"timeout = {int(timeout_s)}\n"
    )


def _ere_literal(text: str) -> str:
    """TEXT as a POSIX extended regular expression that matches it alone."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)


def render_nsca_authorize(identity: str, password: str, clusters: tuple[str, ...], service: str = FEED_SERVICE) -> str:
    """The nsca-ng server's `authorize` block for the agents' identity (nsca-ng.cfg(5)): it may
    submit results of the feed service of these clusters' hosts, nothing else (no commands, no
    host results).  Install it mode 0640, group nagios: it holds the password."""
    _safe_name(service, "Nagios service description")
    hosts = "|".join(_ere_literal(_safe_name(c, "cluster name")) for c in clusters)
    return (
        "# Managed by hastack: what the Pacemaker alert agents may submit (secret: mode 0640).\n"
        f"authorize {_cfg_string(identity, 'identity')} {{\n"
        f"    password = {_cfg_string(password, 'the NSCA-ng password')}\n"
        # nsca-ng anchors each pattern; the part after the last @ is matched against the host.
        f"    services = {_cfg_string(_ere_literal(service) + '@(' + hosts + ')', 'services')}\n"
        "}\n"
    )
