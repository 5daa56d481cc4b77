"""The guest layer's fencing path: a locked-down account on each hypervisor and the guests' agent.

Differences from the seed, each closing a hole the seed leaves open:
- The forced command takes no `$SSH_ORIGINAL_COMMAND` on its command line (sshd runs it through
  the account's shell, which would word-split and glob it); the wrapper reads and splits it itself.
- sudoers names the exact commands (`virsh list --state-running --name`, `virsh destroy <vm>` for
  each allowed VM) instead of `virsh destroy *`, which allowed destroying any domain.
- authorized_keys uses `restrict`, which also forbids a pty, forwarding and ~/.ssh/rc.
- The guests get a known_hosts with the hypervisors' keys: the seed's agent sets
  StrictHostKeyChecking=yes but never installs those keys, so its first fence would fail.
- `monitor` checks that the fence path really answers instead of always returning 0.
"""
from __future__ import annotations

import shlex

WRAPPER_PATH = "/usr/local/sbin/fence-vm"
SUDOERS_PATH_TEMPLATE = "/etc/sudoers.d/{account}-virsh"
AGENT_DIR = "/usr/sbin"
KEY_DIR = "/etc/fence-agent"
KEY_PATH = f"{KEY_DIR}/id_ed25519"
KNOWN_HOSTS_PATH = f"{KEY_DIR}/known_hosts"


def account_home(account: str) -> str:
    return f"/home/{account}"


def render_fence_vm_wrapper(domains: list[str]) -> str:
    """Forced command: `query|destroy <vm>-vm`, for allowlisted VMs only."""
    allowed = " ".join(f"{d}-vm" for d in domains)
    return f"""#!/bin/bash
# Managed by hastack: forced command of the guest fence account.  Allowed: query|destroy <vm>.
set -u
ALLOWED_VMS={shlex.quote(allowed)}
read -r -a WORDS <<< "${{SSH_ORIGINAL_COMMAND:-}}"
if [[ ${{#WORDS[@]}} -ne 2 ]]; then
    echo "Error: usage: query|destroy vm-name" >&2
    exit 1
fi
VERB="${{WORDS[0]}}"
VM="${{WORDS[1]}}"
if [[ "$VERB" != "query" && "$VERB" != "destroy" ]]; then
    echo "Error: verb not permitted" >&2
    exit 1
fi
MATCH=0
for ALLOWED in $ALLOWED_VMS; do
    [[ "$VM" == "$ALLOWED" ]] && MATCH=1
done
if [[ $MATCH -eq 0 ]]; then
    echo "Error: VM not permitted" >&2
    exit 1
fi
DOMAIN="${{VM%-vm}}"
case "$VERB" in
    query)
        running=$(sudo -n /usr/bin/virsh list --state-running --name) || exit 1
        if grep -qx -- "$DOMAIN" <<< "$running"; then echo running; else echo absent; fi
        ;;
    destroy)
        exec sudo -n /usr/bin/virsh destroy "$DOMAIN"
        ;;
esac
"""


def render_sudoers(account: str, domains: list[str]) -> str:
    commands = ["/usr/bin/virsh list --state-running --name"]
    commands += [f"/usr/bin/virsh destroy {d}" for d in domains]
    return (
        "# Managed by hastack: the guest fence account may list running domains and destroy "
        "the allowlisted ones, nothing else.\n"
        f"{account} ALL=(root) NOPASSWD: {', '.join(commands)}\n"
    )


def render_authorized_keys(public_key: str) -> str:
    return f'restrict,command="{WRAPPER_PATH}" {public_key.strip()}\n'


def render_known_hosts(addresses: list[str], host_keys: list[str]) -> str:
    lines = ["# Managed by hastack: the hypervisors the guest fence agent may talk to."]
    for address in addresses:
        for key in host_keys:
            lines.append(f"{address} {key.strip()}")
    return "\n".join(lines) + "\n"


def render_fence_agent(
    agent: str, node_to_vm: dict[str, str], hypervisors: list[str], account: str, timeout_s: int = 10
) -> str:
    """fence_pgrestart: locate the target VM on the hypervisors, then `virsh destroy` it there.

    Success only on a confirmed destroy, or when every hypervisor affirmatively reports the VM
    absent; any unreachable hypervisor without a find is a failure, so Pacemaker retries.
    """
    cases = "\n".join(
        f"    {shlex.quote(node)}|{shlex.quote(node)}.*) VM={shlex.quote(vm + '-vm')} ;;"
        for node, vm in sorted(node_to_vm.items())
    )
    hvs = " ".join(hypervisors)
    plugs = "\n".join(sorted(node_to_vm))
    return f"""#!/bin/bash
# Managed by hastack: {agent}, fence agent of the guest cluster (locate-then-destroy).
set -u
KEY={shlex.quote(KEY_PATH)}
KNOWN_HOSTS={shlex.quote(KNOWN_HOSTS_PATH)}
ACCOUNT={shlex.quote(account)}
HYPERVISORS={shlex.quote(hvs)}
SSH_OPTS=(-i "$KEY" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS"
          -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout={timeout_s})
ACTION=""
NODENAME=""

while getopts "o:n:" opt; do
    case $opt in
        o) ACTION="$OPTARG" ;;
        n) NODENAME="$OPTARG" ;;
        *) ;;
    esac
done
if [[ -z "$ACTION" ]]; then
    # Pacemaker passes its arguments on stdin, one key=value per line.
    while IFS='=' read -r key val; do
        case "$key" in
            action) ACTION="$val" ;;
            nodename|port|plug) [[ -z "$NODENAME" ]] && NODENAME="$val" ;;
        esac
    done
fi

VM=""
case "$NODENAME" in
{cases}
    *) VM="" ;;
esac

hv() {{ ssh "${{SSH_OPTS[@]}}" "$ACCOUNT@$1" "$2 $3"; }}

do_fence() {{
    local found_on="" denied=0 total=0 result
    for HV in $HYPERVISORS; do
        total=$((total + 1))
        if ! result=$(hv "$HV" query "$VM" 2>&1); then
            echo "Warning: could not query $HV: $result" >&2
            continue
        fi
        if [[ "$result" == "running" ]]; then
            found_on="$HV"
            break
        elif [[ "$result" == "absent" ]]; then
            denied=$((denied + 1))
        fi
    done
    if [[ -n "$found_on" ]]; then
        if result=$(hv "$found_on" destroy "$VM" 2>&1); then
            echo "Fenced $VM via virsh destroy on $found_on"
            return 0
        fi
        echo "Error: destroy failed on $found_on: $result" >&2
        return 1
    fi
    total=$(wc -w <<< "$HYPERVISORS")
    if [[ $denied -eq $total ]]; then
        echo "Fenced $VM: confirmed absent from all $total hypervisors"
        return 0
    fi
    echo "Error: $VM not found but only $denied/$total hypervisors answered" >&2
    return 1
}}

monitor() {{
    # The device is usable if at least one hypervisor's fence account answers a query.
    local any={shlex.quote(sorted(node_to_vm.values())[0] + '-vm')}
    for HV in $HYPERVISORS; do
        hv "$HV" query "$any" >/dev/null 2>&1 && return 0
    done
    echo "Error: no hypervisor's fence account answered" >&2
    return 1
}}

case "$ACTION" in
    off|reboot)
        if [[ -z "$VM" ]]; then
            echo "Error: unknown node '$NODENAME'" >&2
            exit 1
        fi
        do_fence
        exit $?
        ;;
    on)
        # The hypervisor layer restarts the VM itself; "on" is satisfied by waiting for it.
        exit 0
        ;;
    monitor|status)
        monitor
        exit $?
        ;;
    list)
        cat <<'PLUGS'
{plugs}
PLUGS
        exit 0
        ;;
    metadata)
        cat <<'METADATA'
<?xml version="1.0" ?>
<resource-agent name="{agent}" shortdesc="Fence a guest VM through its hypervisors">
<longdesc>Locates the target guest's VM on each hypervisor through a forced-command SSH account and destroys it with virsh.</longdesc>
<parameters>
<parameter name="action" unique="0" required="0">
<getopt mixed="-o, --action=[action]"/>
<content type="string" default="reboot"/>
<shortdesc lang="en">Fencing action</shortdesc>
</parameter>
<parameter name="nodename" unique="0" required="0">
<getopt mixed="-n, --nodename=[name]"/>
<content type="string"/>
<shortdesc lang="en">Target node name</shortdesc>
</parameter>
<parameter name="port" unique="0" required="0">
<content type="string"/>
<shortdesc lang="en">Target node name (alias)</shortdesc>
</parameter>
</parameters>
<actions>
<action name="on"/>
<action name="off"/>
<action name="reboot"/>
<action name="monitor"/>
<action name="status"/>
<action name="list"/>
<action name="metadata"/>
</actions>
</resource-agent>
METADATA
        exit 0
        ;;
    *)
        echo "Error: unknown action '$ACTION'" >&2
        exit 1
        ;;
esac
"""
