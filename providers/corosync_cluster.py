"""CorosyncCluster: corosync knet on all rings, two_node, a shared authkey, services enabled.

No pcs, no pcsd auth: the rendered corosync.conf and a random authkey go to both nodes, then
corosync and pacemaker start (measured: membership in 2 s, Pacemaker settled in ~40 s).  A node
already in a cluster of the same name with another config is refused rather than reset.
"""
from __future__ import annotations

import os

import pulumi
import pulumi.dynamic

from hastack.facts.host import UNAME, check_uname
from hastack.plan import Put, Run, on
from hastack.reports import HastackError
from hastack.render.corosync import CorosyncNode, render_corosync_conf
from providers.base import HastackProvider, Props, digest

CONF = "/etc/corosync/corosync.conf"
AUTHKEY = "/etc/corosync/authkey"
AUTHKEY_SHARED = "shared"  # the `authkey` field when every node holds the same key
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
    settle_tries: int = 90
    # Every address each node answers on (for the policy pack; not compared).
    node_addresses: dict[str, tuple[str, ...]] = {}
    # After a refresh: which nodes' keys differ, when they do.
    authkey: str = AUTHKEY_SHARED


def pacemaker_name(props: CorosyncClusterProps, node: str) -> str:
    return props.pacemaker_names.get(node, node)


def conf_text(props: CorosyncClusterProps) -> str:
    nodes = tuple(CorosyncNode(pacemaker_name(props, n.name), i + 1, tuple(props.ring_addresses[n.name]))
                  for i, n in enumerate(props.nodes))
    return render_corosync_conf(props.cluster_name, nodes, props.token_ms)


def cluster_key(facts: dict[str, str], keys: dict[str, bytes | None]) -> tuple[bytes, dict[str, str]]:
    """The authkey every node must share.  A create that failed halfway left this cluster's
    conf and key on some nodes: keep the first such key (a new random one would split the
    cluster: knet drops every packet of a peer with another key), and give it to every node
    that lacks it.  Only when no node has one is a new key made."""
    existing = [keys[n] for n in facts if keys.get(n)]
    if not existing:
        return os.urandom(256), {n: "fresh" if f == "same" else f for n, f in facts.items()}
    key = existing[0]
    return key, {n: ("rekey" if f == "same" and keys.get(n) != key else f) for n, f in facts.items()}


class CorosyncClusterProvider(HastackProvider):
    props_model = CorosyncClusterProps
    compare_fields = ("cluster_name", "pacemaker_names", "ring_addresses", "token_ms", "authkey")
    replace_fields = ("cluster_name",)

    def diff(self, id_, olds, news):
        # Stacks created before `authkey` was a field hold none: shared, as they were made.
        return super().diff(id_, {"authkey": AUTHKEY_SHARED, **olds}, {"authkey": AUTHKEY_SHARED, **news})

    def resource_id(self, props):
        return props.cluster_name

    def probe(self, props, transport_for):
        facts = {}
        for node in props.nodes:
            check_uname(node.name, pacemaker_name(props, node.name), transport_for(node.name).run(list(UNAME)).stdout)
        for node in props.nodes:
            text = (transport_for(node.name).read(CONF) or b"").decode()
            if text == conf_text(props):
                facts[node.name] = "same"
            elif f"cluster_name: {props.cluster_name}\n" in text:
                raise HastackError("CLUSTER_EXISTS", f"{node.name} already runs cluster {props.cluster_name} with "
                                   "another corosync.conf; reconcile it by hand or import it, hastack will not reset it")
            else:
                facts[node.name] = "fresh"
        return facts

    def plan_create(self, props, facts=None, authkey: bytes | None = None):
        """`facts` per node: fresh (no cluster yet), same (this cluster's conf and key already
        there: a previous create got that far), rekey (this conf, but not the cluster's key)."""
        facts = facts or {n.name: "fresh" for n in props.nodes}
        authkey = authkey if authkey is not None else b"(generated at create)"
        plan = ()
        for node in props.nodes:
            if facts[node.name] in ("fresh", "rekey"):
                # Debian starts a one-node cluster from its default config; its CIB must not survive.
                plan += on(node.name, Run(("systemctl", "stop", "pacemaker", "corosync")))
                if facts[node.name] == "fresh":
                    plan += on(node.name, Run(CLEAR_CIB))
                plan += on(node.name, Put(AUTHKEY, authkey, 0o400, secret=True))
            plan += on(node.name, Put(CONF, conf_text(props).encode()),
                       Run(("systemctl", "enable", "--now", "corosync", "pacemaker")))
        first = props.nodes[0].name
        return plan + on(first, Run(("sh", "-c", WAIT_MEMBERS, "sh", str(props.settle_tries), str(len(props.nodes)))))

    def create(self, props):
        p = self._props(props)
        from hastack.apply import apply_live
        from providers.base import transports

        transport_for = transports(p)
        facts = self.probe(p, transport_for)
        keys = {n: transport_for(n).read(AUTHKEY) for n, f in facts.items() if f == "same"}
        authkey, facts = cluster_key(facts, keys)
        apply_live(self.plan_create(p, facts, authkey=authkey), transport_for)
        return pulumi.dynamic.CreateResult(p.cluster_name, outs=dict(props))

    def plan_update(self, old, new):
        renamed = {n.name: (pacemaker_name(old, n.name), pacemaker_name(new, n.name)) for n in new.nodes
                   if pacemaker_name(old, n.name) != pacemaker_name(new, n.name)}
        if renamed:
            # Pacemaker would see new nodes beside the old ones, with every constraint on the old names.
            raise HastackError("NODE_RENAME", f"cluster {new.cluster_name}: " + ", ".join(
                f"{n} from {a!r} to {b!r}" for n, (a, b) in renamed.items()) + "; a cluster's node names "
                "cannot change while it runs. Move the VMs off, `pulumi destroy` the cluster in a maintenance "
                "window and `up` it again, or keep the old fqdn in the config")
        if old.authkey != AUTHKEY_SHARED:
            # Not a replace (that would stop Pacemaker and every VM with it), and not a key
            # hastack picks: the nodes that hold each key may each be running resources.
            raise HastackError("AUTHKEY_DIFFERS", f"cluster {new.cluster_name}: {old.authkey}; knet drops every "
                               "packet of a peer with another key, so the nodes cannot be members of one cluster. "
                               "Decide which node's /etc/corosync/authkey is right, copy it to the other node "
                               "(mode 0400) and restart corosync and pacemaker there, then `pulumi up --refresh`")
        # A new corosync.conf is reloaded in place; the nodes stay members throughout.
        return tuple(s for n in new.nodes for s in on(n.name, Put(CONF, conf_text(new).encode()))) + on(
            new.nodes[0].name, Run(("corosync-cfgtool", "-R")))

    def plan_delete(self, props):
        # What `pcs cluster destroy` removes of ours: the key is this cluster's secret, and a CIB
        # left behind (node ids, cluster-name) would be carried into the next cluster made here.
        return tuple(s for n in props.nodes for s in on(
            n.name, Run(("systemctl", "disable", "--now", "pacemaker", "corosync")), Run(("rm", "-f", CONF, AUTHKEY)),
            Run(CLEAR_CIB)))

    def observe(self, props, transport_for):
        drift, keys, present = {}, {}, 0
        for node in props.nodes:
            t = transport_for(node.name)
            text = t.read(CONF)
            if text is None:
                continue
            present += 1
            if text.decode() != conf_text(props):
                drift["ring_addresses"] = f"({CONF} differs on {node.name})"
            keys[node.name] = digest(t.read(AUTHKEY) or b"")
        if len(set(keys.values())) > 1:
            drift["authkey"] = "authkeys differ between " + " and ".join(keys)
        return None if present == 0 else drift


class CorosyncCluster(pulumi.dynamic.Resource, module="hastack", name="CorosyncCluster"):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CorosyncClusterProvider(), name, props, opts)
