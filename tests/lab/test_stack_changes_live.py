"""Changes to the live lab stack after the drills, through the real CLI: a step that fails
half-way is completed by the next `up`, a VM removed from the config is torn down in the safe
order, and `destroy` leaves nothing of either cluster."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from labhelpers import full_only, ssh, wait_for
from stackhelpers import HYPERVISORS, config, crm_mon, firewall_rules, pcmk, pulumi, wanted_firewall_rules

from hastack.facts.status import running_on

# Four `up`s and a `destroy`: 35-45 min here.
pytestmark = [pytest.mark.lab, pytest.mark.timeout(3600), full_only("35-45 min")]


def _without(vm_name: str) -> dict:
    document = config()
    document["config"]["hastack:vms"] = [v for v in document["config"]["hastack:vms"] if v["name"] != vm_name]
    return document


def _config_without(tmp_path: Path, vm_name: str) -> Path:
    path = tmp_path / f"Pulumi.lab-without-{vm_name}.yaml"
    path.write_text(yaml.safe_dump(_without(vm_name), sort_keys=False))
    return path


def test_a_failed_step_leaves_a_state_the_next_up_completes(applied, stack_env, tmp_path):
    """Break node2 for gw1's DRBD file, remove and re-add gw1: the failure names host and
    command, nothing of gw1 starts unconstrained, and the next up completes it."""
    without = _config_without(tmp_path, "gw1")
    pulumi(stack_env, "up", "--yes", "--skip-preview", "--config-file", str(without))
    # node2's /etc/drbd.d refuses new files: gw1's create stops after node1's create-md and up.
    # (Not a directory named gw1.res: drbdadm then fails to parse every resource on node2, and
    # each clone's monitor there reports "not installed", a hard ban.)
    ssh("node2", "chattr +i /etc/drbd.d")
    try:
        failed = pulumi(stack_env, "up", "--yes", "--skip-preview", check=False)
    finally:
        ssh("node2", "chattr -i /etc/drbd.d")
    assert failed.returncode != 0
    assert "node2" in failed.stdout + failed.stderr and "gw1.res" in failed.stdout + failed.stderr
    assert "gw1-vm" not in ssh("node1", "cibadmin --query --scope resources").stdout
    pulumi(stack_env, "up", "--yes", "--skip-preview")
    wait_for(lambda: running_on(crm_mon(), "gw1-vm") == [pcmk("node1")], timeout=600, interval=10, what="gw1-vm back")


def test_removing_a_vm_tears_it_down_and_leaves_nothing(applied, stack_env, tmp_path):
    pulumi(stack_env, "up", "--yes", "--skip-preview", "--config-file", str(_config_without(tmp_path, "gw1")))
    assert "gw1" not in ssh("node1", "cibadmin --query --scope configuration").stdout
    for node in HYPERVISORS:
        # /etc/libvirt/qemu: the config file VirtualDomain keeps where it stopped the domain.
        left = ssh(node, "ls /etc/drbd.d /etc/libvirt/qemu; virsh list --all --name; "
                         "lvs --noheadings -o lv_name vg-data", check=False).stdout
        assert "gw1" not in left, f"{node} still has: {left}"
        # its DRBD port closed on both hypervisors, every other opening kept
        assert firewall_rules(node) == wanted_firewall_rules(node, _without("gw1"))
        assert 7789 not in [port for _, port, _ in firewall_rules(node)]
    pulumi(stack_env, "up", "--yes", "--skip-preview")  # and back, for the tests after this one
    assert all(firewall_rules(node) == wanted_firewall_rules(node) for node in HYPERVISORS)


def test_destroy_tears_everything_down(applied, stack_env):
    pulumi(stack_env, "destroy", "--yes", "--skip-preview")
    for node in HYPERVISORS:
        left = ssh(node, "ls /etc/drbd.d /etc/libvirt/qemu; virsh list --all --name; "
                         "lvs --noheadings -o lv_name vg-data; systemctl is-active pacemaker || true", check=False).stdout
        for vm in config()["config"]["hastack:vms"]:
            assert all(f"{vm['name']}{end}" not in left for end in (".res", ".xml")) and f"lv-{vm['name']}" not in left
        assert "inactive" in left or "failed" in left
        cluster_files = ssh(node, "ls -d /etc/corosync/corosync.conf /etc/corosync/authkey "
                                  "/var/lib/pacemaker/cib/cib* 2>/dev/null", check=False).stdout
        assert not cluster_files.strip(), f"{node} still has: {cluster_files}"
        # the firewall as the lab made it: hastack's chain, jump, file and include line gone
        assert firewall_rules(node) is None
        base = ssh(node, "nft list chain inet filter input").stdout
        assert "policy drop;" in base and "hastack_input" not in base, base
        assert ssh(node, "grep -c 'managed by hastack' /etc/nftables.conf", check=False).stdout.strip() == "0"
        assert not ssh(node, "find /etc/nftables.d /var/lib/hastack/firewall -type f 2>/dev/null", check=False).stdout.strip()
