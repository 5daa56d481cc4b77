"""VmFirstBoot: a VM's OS from its cloud image, before Pacemaker ever owns it (the seed's
provision-vm.yml, phase 2).

On the preferred node, while it holds the DRBD resource's primary role: the image written onto the
device, the NoCloud seed built into an ISO, the domain booted once outside Pacemaker (`virsh
create` of its definition plus the seed's cdrom: the persistent definition never holds the seed),
SSH awaited at the stack's pinned host key, the clean shutdown cloud-init makes once all its steps
ran, the seed gone and the role handed back; then the peer's definition checked (LibvirtDomain
made it) and the VM handed to Pacemaker (the DRBD clone waits for this resource).

Never over data: the image is written only when the stage file says `new`, which DrbdResource
writes on the preferred node in the one branch that forces the very first primary of a resource
that never held data (`mark_new_argv`).  A resource without it (the VM existed before its
cloud_init) is adopted: nothing is written.  Each step records its stage on the preferred node
when it has ended, and `find` reads it: a create stopped anywhere (a killed `up`) goes on at the
step that did not end, which is safe to run again (`STEPS`, `after_a_kill`).
"""
from __future__ import annotations

from dataclasses import dataclass

from hastack.plan import Put, Run, on
from hastack.resources.base import Live, Props

STATE_DIR = "/var/lib/hastack/first-boot"
NEW, ADOPTED, DONE = "new", "adopted", "done"
SEED_FILES = ("meta-data", "network-config", "user-data")


def stage_path(vm: str) -> str:
    return f"{STATE_DIR}/{vm}.stage"


def seed_dir(vm: str) -> str:
    return f"{STATE_DIR}/{vm}"


def seed_iso_path(vm: str) -> str:
    return f"{seed_dir(vm)}/seed.iso"


def mark_new_argv(vm: str) -> tuple[str, ...]:
    """DrbdResource's initial fill for a VM with cloud_init: the stage `new` (this disk never held data)."""
    return ("sh", "-c", 'mkdir -p -m 0700 "${1%/*}" && echo new > "$1"', "sh", stage_path(vm))


class VmFirstBootProps(Props):
    vm: str
    preferred_node: str  # the node name the image is written and the VM first booted on
    drbd_resource: str
    drbd_device: str
    image: str
    address: str  # the VM's first address: where SSH is awaited
    meta_data: str
    network_config: str
    user_data: str  # secret: the host key and password hashes
    host_public_key: str  # VmHostKey's public half, the only key the first connection accepts
    boot_xml: str  # the domain's definition plus the seed's cdrom
    ssh_wait_s: int
    shutdown_wait_s: int


class VmFirstBootLive(Live):
    stage: str  # the last stage recorded on the preferred node


PROPS, LIVE = VmFirstBootProps, VmFirstBootLive
# cloud-init runs once: a changed seed after the first boot is recorded, never applied (update is empty).
COMPARED = ("vm", "meta_data", "network_config", "user_data", "host_public_key")
REPLACED = ("vm",)


def resource_id(props: VmFirstBootProps) -> str:
    return props.vm


def peer_node(props: VmFirstBootProps) -> str:
    return next(n.name for n in props.nodes if n.name != props.preferred_node)


# ---- the steps, as data ---------------------------------------------------------------------------
# Whether the host at $1 proves it holds the key pinned in the known_hosts file $2: an SSH login
# with strict host key checking and no client key.  "Permission denied" comes only after the host
# key was verified (the host signed the key exchange with it); another key fails before that.
# 0: proven, 1: not (yet) answering, 2: another host key.
SSH_PROBE = r'''probe() {
  out=$(ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$2" \
    -o GlobalKnownHostsFile=/dev/null -o HostKeyAlgorithms=ssh-ed25519 -o PreferredAuthentications=publickey \
    -o IdentitiesOnly=yes -o IdentityFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR \
    -l hastack-first-boot "$1" true 2>&1 </dev/null) && return 0
  case $out in
    *"Permission denied"*) return 0;;
    *"Host key verification failed"*|*"IDENTIFICATION HAS CHANGED"*) return 2;;
  esac
  return 1
}
'''
STATE = 'state() { virsh domstate "$1" 2>/dev/null; }\n'

IMAGE = 'drbdadm primary "$1"\nqemu-img convert -f qcow2 -O raw "$2" "$3"\n'
SEED = ('cd "$1"\ngenisoimage -quiet -output "$2.new" -volid cidata -joliet -rock ' + " ".join(SEED_FILES) + '\n'
        'chmod 0600 "$2.new"\nmv "$2.new" "$2"\n')
BOOT = STATE + '[ "$(state "$1")" = running ] || virsh create "$2" >/dev/null\n'
# $1 vm, $2 address, $3 known_hosts, $4 limit (s), $5 flag file: the VM went off before it answered
# (cloud-init's own power-off, or a crash) and was started again from its definition, without seed.
ANSWER = STATE + SSH_PROBE + r'''deadline=$(( $(date +%s) + $4 ))
while :; do
  if [ "$(state "$1")" != running ]; then touch "$5"; virsh start "$1" >/dev/null; fi
  rc=0; probe "$2" "$3" || rc=$?
  [ "$rc" = 0 ] && exit 0
  if [ "$rc" = 2 ]; then
    echo "$1 at $2 answered SSH with another host key than the stack's (VmHostKey): not the VM hastack booted, or its seed was not read; it is left running outside Pacemaker (virsh console $1)" >&2
    exit 4
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$1 did not answer SSH at $2 with its pinned host key within $4 s (cloud_init.ssh_wait) of its first boot; it is left running outside Pacemaker: see its console (virsh console $1); the next up waits again" >&2
    exit 5
  fi
  sleep 3
done
'''
# $1 vm, $2 limit (s), $3 flag file.  The first boot ends with cloud-init's own power-off, once all
# its steps ran (packages may take long); only a VM started again without its seed is asked to.
SHUT_OFF = STATE + r'''[ ! -e "$3" ] || [ "$(state "$1")" = "shut off" ] || virsh shutdown "$1" >/dev/null
deadline=$(( $(date +%s) + $2 ))
until [ "$(state "$1")" = "shut off" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$1 is not shut off $2 s (cloud_init.shutdown_wait) after it answered SSH: cloud-init powers it off when all its steps ran (packages, data partition), so it may still be at them, or one failed (see /var/log/cloud-init-output.log in it); it is left running outside Pacemaker; the next up waits again" >&2
    exit 5
  fi
  sleep 3
done
rm -f "$3"
'''
# $1 vm, $2 seed ISO, $3 DRBD resource.  The persistent definition never had the seed (the boot was
# `virsh create`); one given it by hand loses it, as the seed's eject does.
EJECT = r'''if virsh dumpxml --inactive "$1" | grep -qF "$2"; then virsh change-media "$1" sda --eject --config >/dev/null; fi
rm -f "$2"
drbdadm secondary "$3"
'''
PEER = r'''uuid=$(virsh domuuid "$1" 2>/dev/null) || uuid=
[ "$uuid" = "$2" ] || { echo "$1 is not defined on this node under UUID $2 (found: ${uuid:-none}); LibvirtDomain defines it on both nodes: run up again" >&2; exit 3; }
'''
DONE_STEP = 'rm -rf -- "$1"\n'


@dataclass(frozen=True)
class FirstBootStep:
    stage: str  # recorded on the preferred node once the step has ended; "" for a check that records none
    on_peer: bool
    script: str
    args: tuple[str, ...]
    after_a_kill: str  # what the next `up` finds, and does, when one stops during this step


def steps(props: VmFirstBootProps) -> tuple[FirstBootStep, ...]:
    vm, d = props.vm, seed_dir(props.vm)
    flag, iso, boot_xml, known_hosts = f"{d}/restarted", seed_iso_path(vm), f"{d}/boot.xml", f"{d}/known_hosts"
    return (
        FirstBootStep("image-written", False, IMAGE, (props.drbd_resource, props.image, props.drbd_device),
                      "stage new: the whole image is written again (no one has booted from it)"),
        FirstBootStep("seed-attached", False, SEED, (d, iso), "the seed files are written and the ISO built again"),
        FirstBootStep("booted", False, BOOT, (vm, boot_xml), "a running domain is not started twice"),
        FirstBootStep("answered", False, ANSWER, (vm, props.address, known_hosts, str(props.ssh_wait_s), flag),
                      "SSH is awaited again for the whole limit; a domain found off is started from its definition"),
        FirstBootStep("shut-off", False, SHUT_OFF, (vm, str(props.shutdown_wait_s), flag),
                      "the power-off is awaited again (asked for if the VM was started again without its seed)"),
        FirstBootStep("ejected", False, EJECT, (vm, iso, props.drbd_resource),
                      "the seed is looked for again, the DRBD role handed back again (secondary is idempotent)"),
        FirstBootStep("", True, PEER, (vm, _uuid(props.boot_xml)), "a check only: run again"),
        FirstBootStep(DONE, False, DONE_STEP, (d,), "the seed directory is removed again"),
    )


def _uuid(xml: str) -> str:
    import xml.etree.ElementTree as ET

    return ET.fromstring(xml).findtext("uuid") or ""


def _step_run(props: VmFirstBootProps, step: FirstBootStep) -> Run:
    """The step's script in a subshell (its `exit 0` ends the step, not the run), then its stage
    recorded; $1 is the stage file, $2 the stage, the step's own arguments after them."""
    record = 'printf "%s\\n" "$stage" > "$f.new" && mv "$f.new" "$f"\n' if step.stage else ""
    script = "set -e\nf=$1 stage=$2; shift 2\n(\n" + step.script + ")\n" + record
    return Run(("sh", "-c", script, "sh", stage_path(props.vm), step.stage, *step.args))


def _seed_files(props: VmFirstBootProps) -> tuple[Put, ...]:
    d = seed_dir(props.vm)
    return (Put(f"{d}/meta-data", props.meta_data.encode(), 0o600),
            Put(f"{d}/network-config", props.network_config.encode(), 0o600),
            Put(f"{d}/user-data", props.user_data.encode(), 0o600, secret=True))


def _boot_files(props: VmFirstBootProps) -> tuple[Put, ...]:
    d = seed_dir(props.vm)
    return (Put(f"{d}/boot.xml", props.boot_xml.encode(), 0o600),
            Put(f"{d}/known_hosts", f"{props.address} {props.host_public_key}\n".encode(), 0o600))


# ---- probe before the create: the stage recorded on the preferred node ------------------------------
def stage_argv(vm: str) -> list[str]:
    return ["sh", "-c", 'cat -- "$1" 2>/dev/null || echo absent', "sh", stage_path(vm)]


def find(props: VmFirstBootProps, transport_for) -> str:
    """The stage the preferred node recorded; `absent` where it has none (the disk may hold data)."""
    return transport_for(props.preferred_node).run(stage_argv(props.vm)).stdout.strip() or "absent"


def observe(props: VmFirstBootProps, transport_for) -> VmFirstBootLive | None:
    stage = find(props, transport_for)
    return None if stage == "absent" else VmFirstBootLive(stage=stage)


def drifted(props: VmFirstBootProps, live: VmFirstBootLive) -> tuple[str, ...]:
    return ()  # a first boot happens once: nothing of it is kept to repair


# ---- plans ---------------------------------------------------------------------------------------
def remaining(props: VmFirstBootProps, stage: str) -> tuple[FirstBootStep, ...]:
    """The steps after STAGE (the last one that ended)."""
    all_steps = steps(props)
    if stage == NEW:
        return all_steps
    ended = [i for i, s in enumerate(all_steps) if s.stage == stage]
    if stage in (DONE, ADOPTED) or not ended:
        return ()
    return all_steps[ended[0] + 1:]


def plan_create(props: VmFirstBootProps, found: str | None = None):
    """FOUND: the stage `find` read; None (render: a fresh stack) is `new`.  `absent`: adopted."""
    stage = NEW if found is None else found
    if stage == "absent":
        return on(props.preferred_node, Run(("sh", "-c", 'mkdir -p -m 0700 "${1%/*}" && echo adopted > "$1"', "sh",
                                             stage_path(props.vm))))
    todo = remaining(props, stage)
    names = {s.stage for s in todo}
    # The files only the steps left need: the seed's (a secret among them) until its ISO is built.
    files = (_seed_files(props) if "seed-attached" in names else ()) + \
        (_boot_files(props) if names & {"booted", "answered"} else ())
    plan = on(props.preferred_node, Run(("mkdir", "-p", "-m", "0700", seed_dir(props.vm))), *files) if files else ()
    for step in todo:
        plan += on(peer_node(props) if step.on_peer else props.preferred_node, _step_run(props, step))
    return plan


def plan_update(old: VmFirstBootProps, new: VmFirstBootProps, live: VmFirstBootLive | None):
    return ()  # cloud-init ran once: a changed seed is recorded only (change the guest itself)


def plan_delete(props: VmFirstBootProps):
    return on(props.preferred_node, Run(("rm", "-rf", "--", seed_dir(props.vm), stage_path(props.vm))))
