"""The guest layer's fencing path: a locked-down account on each hypervisor and the guests' agent.

Differences from the seed, each closing a hole the seed leaves open:
- The forced command takes no `$SSH_ORIGINAL_COMMAND` on its command line (sshd runs it through
  the account's shell, which would word-split and glob it); the wrapper reads and splits it itself.
- sudoers names the exact commands (`virsh list --state-running --name`, `virsh destroy <vm>` for
  each allowed VM) instead of `virsh destroy *`, which allowed destroying any domain.
- authorized_keys uses `restrict`, which also forbids a pty, forwarding and ~/.ssh/rc.
- The guests get a known_hosts with each hypervisor's own keys at its own address: the seed's
  agent sets StrictHostKeyChecking=yes but never installs those keys, so its first fence would fail.
- `monitor` checks that the fence path really answers instead of always returning 0.
- The agent asks every hypervisor at once, and a hypervisor that cannot be reached counts as
  without the VM when a reachable one's quorate cluster holds it offline and clean (fenced, or
  stopped with its resources): the seed's agent waited for the hypervisor layer to restart the VM
  elsewhere and then killed that new instance (its "collateral kill").
"""
from __future__ import annotations

import shlex

WRAPPER_PATH = "/usr/local/sbin/fence-vm"
CRM_MON = "/usr/sbin/crm_mon --one-shot --output-as xml"  # no "=": sudoers would need it escaped
SUDOERS_PATH_TEMPLATE = "/etc/sudoers.d/{account}-virsh"
AGENT_DIR = "/usr/sbin"
KEY_DIR = "/etc/fence-agent"
KEY_PATH = f"{KEY_DIR}/id_ed25519"
KNOWN_HOSTS_PATH = f"{KEY_DIR}/known_hosts"


def account_home(account: str) -> str:
    return f"/home/{account}"


def render_fence_vm_wrapper(domains: list[str]) -> str:
    """Forced command: `query|locate|destroy <vm>-vm` (the VM's resource id), allowlisted VMs only.

    `locate` answers `running` or `absent` for this host, then `down <node>` for each peer that
    this host's cluster, with quorum, holds offline and clean while the VM's resource is managed
    and no maintenance is set: such a peer runs no VM of the cluster's.
    """
    allowed = " ".join(f"{d}-vm" for d in domains)
    return f"""#!/bin/bash
# Managed by hastack: forced command of the guest fence account.  Allowed: query|destroy <vm>.
set -u
ALLOWED_VMS={shlex.quote(allowed)}
read -r -a WORDS <<< "${{SSH_ORIGINAL_COMMAND:-}}"
if [[ ${{#WORDS[@]}} -ne 2 ]]; then
    echo "Error: usage: query|locate|destroy vm-name" >&2
    exit 1
fi
VERB="${{WORDS[0]}}"
VM="${{WORDS[1]}}"
if [[ "$VERB" != "query" && "$VERB" != "locate" && "$VERB" != "destroy" ]]; then
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
attr() {{ local re="[[:space:]]$2=\\"([^\\"]*)\\""; [[ "$1" =~ $re ]] && echo "${{BASH_REMATCH[1]}}"; }}

down_peers() {{
    # Only what Pacemaker has settled: quorum, no maintenance, the VM's resource managed, and
    # the peer offline without being unclean or pending (it was fenced or left cleanly).
    local status line quorate=0 no_maintenance=0 managed=0
    status=$(sudo -n {CRM_MON} 2>/dev/null) || return 0
    while IFS= read -r line; do
        case "$line" in
            *"<current_dc "*) [[ "$(attr "$line" with_quorum)" == true ]] && quorate=1 ;;
            *"<cluster_options "*) [[ "$(attr "$line" maintenance-mode)" == false ]] && no_maintenance=1 ;;
            *"<resource id=\\"$VM\\""*)
                [[ "$(attr "$line" managed)" == true && "$(attr "$line" maintenance)" != true ]] || return 0
                managed=1 ;;
        esac
    done <<< "$status"
    [[ $quorate -eq 1 && $no_maintenance -eq 1 && $managed -eq 1 ]] || return 0
    while IFS= read -r line; do
        [[ "$line" == *"<node name="* && "$line" == *'type="member"'* ]] || continue
        if [[ "$(attr "$line" online)" == false && "$(attr "$line" unclean)" == false &&
              "$(attr "$line" pending)" == false && "$(attr "$line" maintenance)" == false &&
              "$(attr "$line" resources_running)" == 0 ]]; then
            echo "down $(attr "$line" name)"
        fi
    done <<< "$status"
}}

case "$VERB" in
    query|locate)
        running=$(sudo -n /usr/bin/virsh list --state-running --name) || exit 1
        if grep -qx -- "$DOMAIN" <<< "$running"; then echo running; else echo absent; fi
        if [[ "$VERB" == locate ]]; then down_peers; fi
        ;;
    destroy)
        exec sudo -n /usr/bin/virsh destroy "$DOMAIN"
        ;;
esac
"""


def render_sudoers(account: str, domains: list[str]) -> str:
    commands = ["/usr/bin/virsh list --state-running --name", CRM_MON]
    commands += [f"/usr/bin/virsh destroy {d}" for d in domains]
    return (
        "# Managed by hastack: the guest fence account may list running domains, read the "
        "cluster's status and destroy the allowlisted domains, nothing else.\n"
        f"{account} ALL=(root) NOPASSWD: {', '.join(commands)}\n"
    )


def render_authorized_keys(public_key: str) -> str:
    return f'restrict,command="{WRAPPER_PATH}" {public_key.strip()}\n'


def render_known_hosts(keys_by_address: dict[str, list[str]]) -> str:
    """Each hypervisor address with that hypervisor's own keys only: a key never vouches for a peer."""
    lines = ["# Managed by hastack: the hypervisors the guest fence agent may talk to, each with its own keys."]
    for address, keys in keys_by_address.items():
        for key in keys:
            lines.append(f"{address} {key.strip()}")
    return "\n".join(lines) + "\n"


def render_fence_agent(
    agent: str, node_to_vm: dict[str, str], hypervisors: dict[str, str], account: str, timeout_s: int = 10
) -> str:
    """fence_pgrestart: locate the target VM on every hypervisor at once, then `virsh destroy` it.

    `hypervisors` maps each address the agent uses to that hypervisor's Pacemaker node name.
    Success only on a confirmed destroy everywhere the VM runs, or when every hypervisor is known
    to be without it: it said `absent`, or it could not be reached and an answering hypervisor's
    cluster reported it `down`.  Anything else is a failure, so Pacemaker retries.
    """
    cases = "\n".join(
        f"    {shlex.quote(node)}|{shlex.quote(node)}.*) VM={shlex.quote(vm + '-vm')} ;;"
        for node, vm in sorted(node_to_vm.items())
    )
    hvs = " ".join(f"{address}={name}" for address, name in hypervisors.items())
    plugs = "\n".join(sorted(node_to_vm))
    return f"""#!/bin/bash
# Managed by hastack: {agent}, fence agent of the guest cluster (locate-then-destroy).
set -u
KEY={shlex.quote(KEY_PATH)}
KNOWN_HOSTS={shlex.quote(KNOWN_HOSTS_PATH)}
ACCOUNT={shlex.quote(account)}
HYPERVISORS={shlex.quote(hvs)}  # address=pacemaker-node-name
SSH_OPTS=(-i "$KEY" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS"
          -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout={timeout_s}
          -o ServerAliveInterval=5 -o ServerAliveCountMax=3)
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
    local dir entry address name i=0 result found=() unknown=() down=" "
    dir=$(mktemp -d) || return 1
    trap 'rm -rf "$dir"' RETURN
    # Every hypervisor at once: an unreachable one costs one connect timeout, not one per try.
    for entry in $HYPERVISORS; do
        ( hv "${{entry%%=*}}" locate "$VM" > "$dir/$i.out" 2> "$dir/$i.err"; echo $? > "$dir/$i.rc" ) &
        i=$((i + 1))
    done
    wait
    i=0
    for entry in $HYPERVISORS; do
        address="${{entry%%=*}}"
        if [[ "$(cat "$dir/$i.rc")" != 0 ]]; then
            echo "Warning: could not ask $address: $(tr '\n' ' ' < "$dir/$i.err")" >&2
            unknown+=("$entry")
        else
            result=$(head -n 1 "$dir/$i.out")
            case "$result" in
                running) found+=("$address") ;;
                absent) ;;
                *) echo "Warning: $address answered '$result'" >&2; unknown+=("$entry") ;;
            esac
            while read -r word name; do
                [[ "$word" == down ]] && down+="$name "
            done < <(tail -n +2 "$dir/$i.out")
        fi
        i=$((i + 1))
    done
    if [[ ${{#found[@]}} -gt 0 ]]; then
        for address in "${{found[@]}}"; do
            if ! result=$(hv "$address" destroy "$VM" 2>&1); then
                echo "Error: destroy failed on $address: $result" >&2
                return 1
            fi
            echo "Fenced $VM via virsh destroy on $address"
        done
        return 0
    fi
    for entry in "${{unknown[@]}}"; do
        name="${{entry#*=}}"
        if [[ "$down" != *" $name "* ]]; then
            echo "Error: $VM not found, and ${{entry%%=*}} ($name) neither answered nor is known down" >&2
            return 1
        fi
        echo "${{entry%%=*}} did not answer; its cluster peer reports $name offline and clean"
    done
    echo "Fenced $VM: confirmed absent from all $(wc -w <<< "$HYPERVISORS") hypervisors"
    return 0
}}

monitor() {{
    # The device is usable if at least one hypervisor's fence account answers a query.
    local any={shlex.quote(sorted(node_to_vm.values())[0] + '-vm')} entry
    for entry in $HYPERVISORS; do
        hv "${{entry%%=*}}" query "$any" >/dev/null 2>&1 && return 0
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
