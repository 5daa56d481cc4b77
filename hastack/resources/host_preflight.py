"""HostPreflight: what a layer's hosts must already have before hastack changes anything on them,
checked first and refused with the host, what is wrong and the fix (the seed's fail-fast playbook).

The cluster software at versions hastack's commands need, a DRBD kernel module of the config's
dialect, each ring address on an interface (with the MTU and bridge the config states), and the
bridges the VMs attach to.  Host networking stays the operator's: it is checked, never changed,
since changing it over the SSH session that carries the change can cut that session.  Every
other resource of the layer waits for this one; a refresh re-reads it, so a host that lost a
requirement is drift, and the next `up` stops on it before touching anything.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hastack.facts.host import HostSurvey, parse_host_survey, survey_argv, version_tuple
from hastack.plan import Plan
from hastack.reports import HastackError
from hastack.resources.base import Live, Props

# (survey key, oldest version, why hastack needs it)
MINIMUM_VERSIONS = (
    ("pacemaker", "2.1", "its role names Promoted/Unpromoted and crm_mon's XML output"),
    ("corosync", "3.0", "knet links on every ring"),
)
# What every node of either layer runs for hastack (pcs runs on the operator's machine, on CIB copies).
CLUSTER_COMMANDS = ("corosync", "pacemakerd", "crm_mon", "cibadmin", "crm_resource", "drbdadm", "modinfo")


class NeededAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str
    what: str  # the config field it comes from, for messages: "ring storage1", "mgmt_address"
    mtu: int | None = None  # the MTU of the interface holding the address, when the config states one
    bridge: str | None = None  # the bridge that must hold the address, when the config names one


class NodeNeeds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    addresses: tuple[NeededAddress, ...]
    bridges: tuple[str, ...] = ()  # bridges the layer's VMs attach to (hypervisors)


class HostPreflightProps(Props):
    commands: tuple[str, ...]  # must be on PATH on every node
    drbd_dialect: str | None = None  # "8.4" or "9": the kernel module's family; None: any DRBD module
    needs: dict[str, NodeNeeds]  # node name -> its addresses and bridges


class HostPreflightLive(Live):
    problems: dict[str, tuple[str, ...]]  # node -> what it lacks now (empty: nothing)
    versions: dict[str, dict[str, str]]  # node -> the survey's versions, for the operator


PROPS, LIVE = HostPreflightProps, HostPreflightLive
COMPARED = ("commands", "drbd_dialect", "needs")
REPLACED = ()
FIND_BEFORE_UPDATE = True  # a changed need or a lost requirement is checked again before anything else


def resource_id(props: HostPreflightProps) -> str:
    return f"preflight-{props.layer}"


# ---- the check: pure, from one survey per node -------------------------------------------------------
def problems(props: HostPreflightProps, node: str, survey: HostSurvey) -> tuple[str, ...]:
    found = [f"`{c}` is not installed (not on root's PATH): install the package that provides it"
             for c in survey.missing]
    for key, oldest, why in MINIMUM_VERSIONS:
        have = survey.versions.get(key, "")
        if have and version_tuple(have) < version_tuple(oldest):
            found.append(f"{key} {have} is older than {oldest}, which hastack needs for {why}: upgrade it")
    kernel = survey.versions.get("drbd-kernel", "")
    if not kernel:
        found.append("no DRBD kernel module (`modinfo drbd` finds none): install the DRBD module of this kernel")
    elif props.drbd_dialect and not (kernel + ".").startswith(props.drbd_dialect + "."):
        found.append(f"the DRBD kernel module is {kernel}, but the config's drbd.dialect is {props.drbd_dialect}: "
                     "set drbd.dialect to the module's family (8.4 for 8.4.x, 9 for 9.x), or install the module "
                     "the config names")
    needs = props.needs[node]
    for need in needs.addresses:
        where = survey.addresses.get(need.address)
        if where is None:
            found.append(f"{need.what} {need.address} is on no interface (`ip -o addr`): nothing could bind it; "
                         "configure it on the host, or correct the node's address in the config")
            continue
        if need.bridge and where != need.bridge:
            found.append(f"{need.what} {need.address} is on {where}, not on the bridge {need.bridge}: move the "
                         "address to the bridge, or correct the ring's bridge")
        if need.mtu and survey.mtu.get(where) != need.mtu:
            found.append(f"{where} ({need.what}) has MTU {survey.mtu.get(where)}, the config says {need.mtu}: set "
                         "the MTU on the host (hastack never changes host networking), or correct the ring's mtu")
    found += [f"bridge {b} (a VM's network) does not exist: create it on the host, or correct the VM's networks"
              for b in needs.bridges if b not in survey.bridges]
    return tuple(found)


def survey(props: HostPreflightProps, transport_for) -> dict[str, HostSurvey]:
    return {n.name: parse_host_survey(transport_for(n.name).run(list(survey_argv(props.commands))).stdout)
            for n in props.nodes}


def refusal(props: HostPreflightProps, found: dict[str, tuple[str, ...]]) -> HastackError | None:
    lines = [f"  {node}: {p}" for node, ps in found.items() for p in ps]
    if not lines:
        return None
    return HastackError("PREFLIGHT_FAILED", f"the {props.layer} hosts lack what hastack needs before any change; "
                        "nothing was changed on any host:\n" + "\n".join(lines))


def find(props: HostPreflightProps, transport_for) -> None:
    """Before the create (which writes nothing): refuse while any node lacks something."""
    if error := refusal(props, observe(props, transport_for).problems):
        raise error


def observe(props: HostPreflightProps, transport_for) -> HostPreflightLive:
    seen = survey(props, transport_for)
    return HostPreflightLive(problems={node: problems(props, node, s) for node, s in seen.items()},
                             versions={node: s.versions for node, s in seen.items()})


def drifted(props: HostPreflightProps, live: HostPreflightLive) -> tuple[str, ...]:
    return ("needs",) if any(live.problems.values()) else ()


# ---- plans: nothing is written; the check itself runs before create and update ---------------------
def plan_create(props: HostPreflightProps, found=None) -> Plan:
    return ()


def plan_update(old: HostPreflightProps, new: HostPreflightProps, live: HostPreflightLive | None) -> Plan:
    return ()


def plan_delete(props: HostPreflightProps) -> Plan:
    return ()


def agent_command(agent: str) -> str:
    """Where a resource agent must be on a node: ocf:P:T in the OCF directory, stonith:X on PATH."""
    kind, _, rest = agent.partition(":")
    if kind == "stonith":
        return rest
    provider, _, type_ = rest.partition(":") if kind == "ocf" else ("heartbeat", "", agent)
    return f"/usr/lib/ocf/resource.d/{provider}/{type_}"


# ---- what a layer's nodes need -----------------------------------------------------------------------
def layer_needs(cluster, vm_bridges: tuple[str, ...] = ()) -> dict[str, NodeNeeds]:
    """Each node of CLUSTER (config.hypervisor or config.guest): its management address, each
    ring's address with the ring's MTU and bridge, the VM bridge address; VM_BRIDGES on every node."""
    needs = {}
    for node in cluster.nodes:
        addresses = [NeededAddress(address=str(node.mgmt_address), what="mgmt_address")]
        addresses += [NeededAddress(address=str(a), what=f"ring {ring.name}", mtu=ring.mtu, bridge=ring.bridge)
                      for ring, a in zip(cluster.rings, node.ring_addresses)]
        if getattr(node, "vm_bridge_address", None):
            addresses.append(NeededAddress(address=str(node.vm_bridge_address), what="vm_bridge_address"))
        needs[node.name] = NodeNeeds(addresses=tuple(addresses), bridges=tuple(sorted(set(vm_bridges))))
    return needs
