"""CorosyncCluster: corosync knet on all rings, two_node, a shared authkey, services enabled.

No pcs, no pcsd auth: the rendered corosync.conf and a random authkey go to both nodes, then
corosync and pacemaker start.  A node already in a cluster of the same name with another config
is refused rather than reset.  Nodes whose authkeys differ cannot be members of one cluster (knet
drops every packet of a peer with another key): `up` stops with AUTHKEY_DIFFERS instead of
replacing the cluster (that would stop every VM) or picking a key (the node whose key it dropped
could be running resources).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from hastack.facts.host import UNAME, check_uname
from hastack.plan import Put, Run, on, together
from hastack.render.corosync import CorosyncNode, render_corosync_conf
from hastack.reports import HastackError
from hastack.resources.base import Live, Props, digest, on_each_node

CONF = "/etc/corosync/corosync.conf"
AUTHKEY = "/etc/corosync/authkey"
CLEAR_CIB = ("sh", "-c", "rm -f /var/lib/pacemaker/cib/cib*")
WAIT_MEMBERS = ('for i in $(seq 1 "$1"); do n=$(crm_mon -1 --output-as=xml 2>/dev/null | grep -c \'online="true"\'); '
                '[ "$n" -ge "$2" ] && exit 0; sleep 2; done; echo "cluster members not online after $1 tries" >&2; exit 1')


class CorosyncClusterProps(Props):
    cluster_name: str
    # node name -> its Pacemaker name: the host's `uname -n`, the name DRBD knows it by too.
    # Stacks made before this field named their Pacemaker nodes by the node name.
    pacemaker_names: dict[str, str] = {}
    ring_addresses: dict[str, tuple[str, ...]]  # node name -> one address per ring
    token_ms: int = 3000
    settle_tries: int = 90  # polls (2 s apart) for every member to be online after the start
    # Every address each node answers on (for the policy pack; not compared).
    node_addresses: dict[str, tuple[str, ...]] = {}


class CorosyncClusterLive(Live):
    conf_sha256: dict[str, str]  # node -> sha256 of its corosync.conf, for the nodes that have one
    authkey_differs_on: tuple[str, ...] = ()  # the nodes with a conf, when their authkeys are not all one


PROPS, LIVE = CorosyncClusterProps, CorosyncClusterLive
COMPARED = ("cluster_name", "pacemaker_names", "ring_addresses", "token_ms")
REPLACED = ("cluster_name",)
# State written before `live` kept the authkey drift in this props field ("shared" when none).
RETIRED = ("authkey",)


def legacy_live(outs: dict) -> CorosyncClusterLive | None:
    """The authkey drift a refresh by older hastack wrote into `authkey`: still refused by `up`."""
    text = outs.get("authkey")
    if not isinstance(text, str) or not text.startswith("authkeys differ between "):
        return None
    return CorosyncClusterLive(conf_sha256={}, authkey_differs_on=tuple(
        text.removeprefix("authkeys differ between ").split(" and ")))


def resource_id(props: CorosyncClusterProps) -> str:
    return props.cluster_name


def pacemaker_name(props: CorosyncClusterProps, node: str) -> str:
    return props.pacemaker_names.get(node, node)


def conf_text(props: CorosyncClusterProps) -> str:
    nodes = tuple(CorosyncNode(pacemaker_name(props, n.name), i + 1, tuple(props.ring_addresses[n.name]))
                  for i, n in enumerate(props.nodes))
    return render_corosync_conf(props.cluster_name, nodes, props.token_ms)


# ---- look before the create ----------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    confs: dict[str, str]  # node -> same (this cluster's conf) | fresh (none, or another cluster's name)
    keys: dict[str, bytes | None]  # node -> its authkey, where the conf is this cluster's
    new_key: bytes  # for a cluster none of whose nodes has a key yet


def conf_state(props: CorosyncClusterProps, node: str, text: str) -> str:
    if text == conf_text(props):
        return "same"
    if f"cluster_name: {props.cluster_name}\n" in text:
        raise HastackError("CLUSTER_EXISTS", f"{node} already runs cluster {props.cluster_name} with "
                           "another corosync.conf; reconcile it by hand or import it, hastack will not reset it")
    return "fresh"


def find(props: CorosyncClusterProps, transport_for) -> Found:
    for node in props.nodes:
        check_uname(node.name, pacemaker_name(props, node.name), transport_for(node.name).run(list(UNAME)).stdout)
    confs = {n.name: conf_state(props, n.name, (transport_for(n.name).read(CONF) or b"").decode()) for n in props.nodes}
    keys = {n: transport_for(n).read(AUTHKEY) for n, state in confs.items() if state == "same"}
    return Found(confs, keys, os.urandom(256))


def cluster_key(facts: dict[str, str], keys: dict[str, bytes | None],
                new_key: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    """The authkey every node must share.  A create that failed halfway left this cluster's
    conf and key on some nodes: keep the first such key (a new random one would split the
    cluster), and give it to every node that lacks it.  Only when no node has one is a new key
    made."""
    existing = [keys[n] for n in facts if keys.get(n)]
    if not existing:
        return new_key or os.urandom(256), {n: "fresh" if f == "same" else f for n, f in facts.items()}
    key = existing[0]
    return key, {n: ("rekey" if f == "same" and keys.get(n) != key else f) for n, f in facts.items()}


# ---- live state: each node's conf, and whether the authkeys agree ---------------------------------
def observe(props: CorosyncClusterProps, transport_for) -> CorosyncClusterLive | None:
    confs, keys = {}, {}
    for node in props.nodes:
        host = transport_for(node.name)
        text = host.read(CONF)
        if text is None:
            continue
        confs[node.name] = digest(text)
        keys[node.name] = digest(host.read(AUTHKEY) or b"")
    if not confs:
        return None
    return CorosyncClusterLive(conf_sha256=confs, authkey_differs_on=tuple(keys) if len(set(keys.values())) > 1 else ())


def drifted(props: CorosyncClusterProps, live: CorosyncClusterLive) -> tuple[str, ...]:
    wanted = digest(conf_text(props))
    return ((("ring_addresses",) if any(d != wanted for d in live.conf_sha256.values()) else ())
            + (("authkey",) if live.authkey_differs_on else ()))


# ---- plans ---------------------------------------------------------------------------------------
def plan_create(props: CorosyncClusterProps, found: Found | None):
    """Per node: fresh (no cluster yet), same (this cluster's conf and key already there: a
    previous create got that far), rekey (this conf, but not the cluster's key)."""
    if found is None:  # render
        authkey, states = b"(generated at create)", {n.name: "fresh" for n in props.nodes}
    else:
        authkey, states = cluster_key(found.confs, found.keys, found.new_key)
    lanes = {}
    for node in props.nodes:
        steps = ()
        if states[node.name] in ("fresh", "rekey"):
            # Debian starts a one-node cluster from its default config; its CIB must not survive.
            steps += (Run(("systemctl", "stop", "pacemaker", "corosync")),)
            if states[node.name] == "fresh":
                steps += (Run(CLEAR_CIB),)
            steps += (Put(AUTHKEY, authkey, 0o400, secret=True),)
        lanes[node.name] = steps + (Put(CONF, conf_text(props).encode()),
                                    Run(("systemctl", "enable", "--now", "corosync", "pacemaker")))
    first = props.nodes[0].name
    return together(lanes) + on(first, Run(("sh", "-c", WAIT_MEMBERS, "sh", str(props.settle_tries),
                                             str(len(props.nodes)))))


def plan_update(old: CorosyncClusterProps, new: CorosyncClusterProps, live: CorosyncClusterLive | None):
    renamed = {n.name: (pacemaker_name(old, n.name), pacemaker_name(new, n.name)) for n in new.nodes
               if pacemaker_name(old, n.name) != pacemaker_name(new, n.name)}
    if renamed:
        # Pacemaker would see new nodes beside the old ones, with every constraint on the old names.
        raise HastackError("NODE_RENAME", f"cluster {new.cluster_name}: " + ", ".join(
            f"{n} from {a!r} to {b!r}" for n, (a, b) in renamed.items()) + "; a cluster's node names "
            "cannot change while it runs. Move the VMs off, `pulumi destroy` the cluster in a maintenance "
            "window and `up` it again, or keep the old fqdn in the config")
    if live is not None and live.authkey_differs_on:
        raise HastackError("AUTHKEY_DIFFERS", f"cluster {new.cluster_name}: authkeys differ between "
                           f"{' and '.join(live.authkey_differs_on)}; knet drops every packet of a peer with another "
                           "key, so the nodes cannot be members of one cluster. Decide which node's "
                           f"{AUTHKEY} is right, copy it to the other node (mode 0400) and restart corosync "
                           "and pacemaker there, then `pulumi up --refresh`")
    # A new corosync.conf is reloaded in place; the nodes stay members throughout.
    return on_each_node(new, Put(CONF, conf_text(new).encode())) + on(new.nodes[0].name, Run(("corosync-cfgtool", "-R")))


def plan_delete(props: CorosyncClusterProps):
    # What `pcs cluster destroy` removes of ours: the key is this cluster's secret, and a CIB
    # left behind (node ids, cluster-name) would be carried into the next cluster made here.
    return on_each_node(props, Run(("systemctl", "disable", "--now", "pacemaker", "corosync")),
                        Run(("rm", "-f", CONF, AUTHKEY)), Run(CLEAR_CIB))
