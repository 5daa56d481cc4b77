"""A VM's OS from a cloud image (issue 17): the NoCloud seed's renderers, the cloud_init config, the
stack's host key, and the first boot's steps as data (resumable after a kill at each one)."""
from __future__ import annotations

import copy

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from hastack.config.load import raw_config, stack_file, unseal, validate
from hastack.plan import Put, Run, sequential
from hastack.render.libvirt import render_domain_xml, vm_mac
from hastack.render.nocloud import DATA_PARTITION, vm_meta_data, vm_network_config, vm_user_data
from hastack.reports import ConfigError
from hastack.resources import vm_first_boot, vm_host_key
from hastack.resources.vm_first_boot import VmFirstBootProps

SEED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICmp8OUs0OGjZDKcXqCHe1v8GCLvoVfppC0oGNoiZi6c ansible@lab5"


@pytest.fixture()
def raw(root):
    return unseal(raw_config(stack_file("lab5", root)))


def pg1(config):
    return config.vm("pg1")


# ---- renderers ----------------------------------------------------------------------------------
def test_network_config_puts_each_configured_address_on_the_nic_of_its_mac(lab5_config):
    vm, hv = pg1(lab5_config), lab5_config.hypervisor
    ethernets = yaml.safe_load(vm_network_config(vm, hv))["ethernets"]
    wanted = [str(vm.address)] + [f"{a}/24" for a in vm.storage_addresses]
    assert [e["match"]["macaddress"] for e in ethernets.values()] == [vm_mac("pg1", i) for i in range(3)]
    assert [e["addresses"] for e in ethernets.values()] == [[a] for a in wanted]
    assert list(ethernets) == [e["set-name"] for e in ethernets.values()] == ["eth0", "eth1", "eth2"]
    # the seed's nmcli lines: gateway and DNS on eth0 only
    assert ethernets["eth0"]["routes"] == [{"to": "0.0.0.0/0", "via": "10.0.5.1"}]
    assert ethernets["eth0"]["nameservers"] == {"addresses": ["192.168.4.1"]}
    assert "routes" not in ethernets["eth1"] and "nameservers" not in ethernets["eth2"]
    # the MACs are the domain's own
    xml = render_domain_xml(vm)
    assert all(vm_mac("pg1", i) in xml for i in range(3))
    assert yaml.safe_load(vm_meta_data(vm)) == {"instance-id": "pg1", "local-hostname": "pg1"}


def test_user_data_holds_the_seeds_users_the_stack_key_the_partition_and_disables_cloud_init(lab5_config):
    vm, hv = pg1(lab5_config), lab5_config.hypervisor
    private, public = vm_host_key.key_pair()
    text = vm_user_data(vm, hv, (private, public))
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert (doc["hostname"], doc["fqdn"]) == ("pg1", "pg1.lab5.decoursey.com")
    users = {u["name"]: u for u in doc["users"]}
    assert users["ansible"] == {"name": "ansible", "lock_passwd": True, "groups": "wheel",
                                "sudo": "ALL=(ALL) NOPASSWD:ALL", "shell": "/bin/bash", "ssh_authorized_keys": [SEED_KEY]}
    assert users["root"]["lock_passwd"] is False and "hashed_passwd" in users["root"]
    assert "disable_root" not in doc  # root has no key in the seed
    assert doc["ssh_pwauth"] is False and doc["growpart"] == {"mode": "off"}
    assert doc["ssh_keys"] == {"ed25519_private": private, "ed25519_public": public} and doc["ssh_deletekeys"]
    assert doc["runcmd"][0] == ["sh", "-c", DATA_PARTITION, "sh", "/dev/vda", "drbd-data", ""]
    assert doc["runcmd"][-2:] == [["touch", "/etc/cloud/cloud-init.disabled"],
                                  ["systemctl", "mask", "cloud-init-local.service", "cloud-init.service",
                                   "cloud-config.service", "cloud-final.service"]]
    assert doc["power_state"]["mode"] == "poweroff"
    assert "packages" not in doc  # the seed installs none at provisioning


def test_packages_services_and_a_root_key_appear_only_when_asked(raw):
    changed = copy.deepcopy(raw)
    ci = changed["vms"][4]["cloud_init"]
    ci.update(packages=["pcs", "pacemaker"], services=["pcsd"], data_partition=None)
    ci["users"] = [{"name": "root", "ssh_authorized_keys": [SEED_KEY]}]
    config = validate(changed)
    doc = yaml.safe_load(vm_user_data(pg1(config), config.hypervisor, vm_host_key.key_pair()))
    assert doc["packages"] == ["pcs", "pacemaker"] and doc["disable_root"] is False
    assert doc["runcmd"][0] == ["systemctl", "enable", "--now", "pcsd"]  # no partition asked for
    assert not any(DATA_PARTITION in c for c in doc["runcmd"])


# ---- config -------------------------------------------------------------------------------------
CASES = [
    ("no image", {"image": None}, ["vms[4] (pg1).cloud_init needs vms[4] (pg1).image", "qcow2"]),
    ("no address", {"address": None}, ["cloud_init needs vms[4] (pg1).address", "first NIC"]),
    ("a NIC without address", {"storage_addresses": ["192.168.2.53"]},
     ["networks has 3 NICs for 1 address + 1 storage_addresses", "one address per NIC"]),
    ("a storage address in no ring", {"storage_addresses": ["192.168.2.53", "172.16.0.5"]},
     ["storage_addresses[1] 172.16.0.5 is in no hypervisor ring", "192.168.3.0/24"]),
    ("a kernel boot", {"boot": {"kernel": "/k", "initrd": "/i"}}, ["boot.kernel '/k' with cloud_init"]),
    ("a gateway elsewhere", {"cloud_init.gateway": "10.9.0.1"},
     ["cloud_init.gateway 10.9.0.1 is outside", "10.0.5.0/24"]),
    ("nobody can log in", {"cloud_init.users": [{"name": "root", "lock_passwd": False}]},
     ["no user has ssh_authorized_keys", "nobody could log in"]),
    ("a package with an option", {"cloud_init.packages": ["--nogpgcheck"]}, ["'--nogpgcheck' is not a package name"]),
]


@pytest.mark.parametrize("what,change,words", CASES, ids=[c[0] for c in CASES])
def test_bad_cloud_init_is_refused_with_field_value_and_fix(raw, what, change, words):
    broken = copy.deepcopy(raw)
    broken["guest"]["firewall"] = {"database_clients": ["10.0.5.0/24"]}  # not derived from pg1's address then
    vm = broken["vms"][4]
    for key, value in change.items():
        if key.startswith("cloud_init."):
            vm["cloud_init"][key.split(".", 1)[1]] = value
        elif value is None:
            vm.pop(key)
        else:
            vm[key] = value
    with pytest.raises(ConfigError) as caught:
        validate(broken)
    for word in words:
        assert word in str(caught.value), (what, str(caught.value))


def test_the_first_boot_needs_its_hypervisor_on_the_vms_network(raw):
    broken = copy.deepcopy(raw)
    broken["guest"]["firewall"] = {"database_clients": ["10.0.5.0/24"]}
    broken["vms"][4].update(address="10.0.7.53/24")
    broken["vms"][4]["cloud_init"]["gateway"] = "10.0.7.1"
    with pytest.raises(ConfigError, match=r"hypervisor node1's vm_bridge_address \(10.0.5.21\) is not in 10.0.7.0/24"):
        validate(broken)


def test_a_password_hash_is_never_in_an_error(raw):
    broken = copy.deepcopy(raw)
    broken["vms"][4]["cloud_init"]["users"][0]["hashed_passwd"] = ["$6$secret-salt$hash"]
    with pytest.raises(ConfigError) as caught:
        validate(broken)
    assert "secret-salt" not in str(caught.value)


# ---- the stack: a VM without cloud_init is built as before ----------------------------------------
def _recorded(config):
    from commands.render import record_stack

    return {r.name: r for r in record_stack(config, "lab5")}


@pytest.fixture(scope="module")
def recorded(lab5_config):
    return _recorded(lab5_config)


def test_only_vms_with_cloud_init_get_a_key_and_a_first_boot(raw, recorded):
    extra = sorted(n for n, r in recorded.items() if r.typ.endswith(("VmHostKey", "VmFirstBoot")))
    assert extra == ["pg1-first-boot", "pg1-host-key", "pg2-first-boot", "pg2-host-key"]
    without = copy.deepcopy(raw)
    for vm in without["vms"]:
        vm.pop("cloud_init", None)
    plain = _recorded(validate(without))
    assert set(recorded) - set(plain) == set(extra)
    for name, resource in plain.items():  # every other resource has the same inputs, but pg1's and pg2's DRBD fill
        if name in ("pg1-drbd", "pg2-drbd", "pg1-drbd-clone", "pg2-drbd-clone"):
            continue
        assert resource.inputs == recorded[name].inputs, name
    assert plain["pg1-drbd"].inputs["initial_fill"] == [["qemu-img", "convert", "-f", "qcow2", "-O", "raw",
                                                        "/var/lib/libvirt/images/rhel-9.7-x86_64-kvm.qcow2", "/dev/drbd4"]]
    assert recorded["pg1-drbd"].inputs["initial_fill"] == [list(vm_first_boot.mark_new_argv("pg1"))]
    assert "cdrom" not in recorded["pg1-domain"].inputs["xml"]  # the persistent definition never holds the seed


def test_the_host_key_reaches_the_first_boot_as_a_secret_and_only_its_public_half_the_outputs(lab5_config):
    from commands.render import policy_resources

    resources, secret_paths = policy_resources(lab5_config, "lab5")
    boot = next(r for r in resources if r.name == "pg1-first-boot")
    assert ("user_data",) in secret_paths["pg1-first-boot"]
    assert "OPENSSH PRIVATE KEY" in boot.props["user_data"]
    for r in resources:
        for key, value in r.props.items():
            if "PRIVATE KEY" in str(value) and r.name not in ("pg1-host-key", "pg2-host-key"):
                assert (key,) in secret_paths[r.name] or key == "secret_values", (r.name, key)
    public = boot.props["host_public_key"]
    assert public.startswith("ssh-ed25519 ") and public.endswith(" pg1")


# ---- VmHostKey ----------------------------------------------------------------------------------
def test_a_host_key_is_an_ed25519_pair_made_once_and_replaced_only_with_its_vm():
    from providers.vm_host_key import VmHostKeyProvider

    provider = VmHostKeyProvider()
    inputs = {"layer": "hypervisor", "vm": "pg1", "public_key": None, "private_key": None}
    made = provider.create(inputs).outs
    key = serialization.load_ssh_private_key(made["private_key"].encode(), None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert made["public_key"] == f"{public} pg1"
    assert provider.create(inputs).outs["private_key"] != made["private_key"]  # random, never derived
    assert not provider.diff("pg1-host-key", {**made, "__provider": "P"}, inputs).changes  # up again: kept
    assert provider.diff("pg1-host-key", made, {**inputs, "vm": "pg3"}).replaces == ["vm"]
    assert provider.read("pg1-host-key", made).outs == made
    props = vm_host_key.PROPS(layer="hypervisor", vm="pg1")
    once, again = vm_host_key.rendered(props, "pg1-host-key"), vm_host_key.rendered(props, "pg1-host-key")
    assert once["public_key"] == again["public_key"] != made["public_key"]  # render's files are the same each time
    assert vm_host_key.plan_create(props) == ()


# ---- the first boot's steps ---------------------------------------------------------------------
@pytest.fixture()
def props(recorded):
    from commands.render import plain

    inputs = plain(recorded["pg1-first-boot"].inputs)
    return VmFirstBootProps.model_validate({k: v for k, v in inputs.items() if not k.startswith("__")})


def stages_of(plan) -> list[str]:
    return [step.argv[5] for _, step in sequential(plan) if isinstance(step, Run) and step.argv[:2] == ("sh", "-c")
            and len(step.argv) > 5 and step.argv[4] == vm_first_boot.stage_path("pg1")]


ORDER = ["image-written", "seed-attached", "booted", "answered", "shut-off", "ejected", "", "done"]


def test_a_new_disk_gets_every_step_in_the_seeds_order_on_the_preferred_node_and_one_check_on_the_peer(props):
    plan = vm_first_boot.plan_create(props, "new")
    assert stages_of(plan) == ORDER
    targets = [t for t, s in plan if isinstance(s, Run) and s.argv[:2] == ("sh", "-c")]
    assert targets == ["node1"] * 6 + ["node2", "node1"]
    image = [s for _, s in plan if isinstance(s, Run) and "qemu-img convert" in s.argv[2]]
    assert image[0].argv[-3:] == ("pg1", "/var/lib/libvirt/images/rhel-9.7-x86_64-kvm.qcow2", "/dev/drbd4")
    assert vm_first_boot.plan_create(props) == plan  # render: a fresh stack
    puts = {s.path: s for _, s in plan if isinstance(s, Put)}
    assert puts["/var/lib/hastack/first-boot/pg1/user-data"].secret
    assert all(p.mode == 0o600 for p in puts.values())
    assert puts["/var/lib/hastack/first-boot/pg1/known_hosts"].content.decode() == f"10.0.5.53 {props.host_public_key}\n"
    assert all(props.user_data not in " ".join(s.argv) for _, s in plan if isinstance(s, Run))  # never on a command line
    assert b"sda" in puts["/var/lib/hastack/first-boot/pg1/boot.xml"].content


@pytest.mark.parametrize("killed_in", range(len(ORDER)))
def test_a_create_killed_in_any_step_goes_on_at_that_step(props, killed_in):
    """The stage file holds the last step that ended; the next up's find reads it."""
    ended = next((s for s in reversed(ORDER[:killed_in]) if s), "new")
    plan = vm_first_boot.plan_create(props, ended)
    todo = [s for s in ORDER[ORDER.index(ended) + 1:]] if ended != "new" else ORDER
    assert stages_of(plan) == todo
    assert ("image-written" in stages_of(plan)) == (ended == "new")  # the image only onto a disk nobody booted
    secret_put = any(isinstance(s, Put) and s.secret for _, s in plan)
    assert secret_put == ("seed-attached" in todo)  # the secret seed is written only while it is needed
    for step in vm_first_boot.steps(props):
        assert step.after_a_kill


def test_a_disk_that_was_not_made_new_is_adopted_and_never_written(props):
    plan = vm_first_boot.plan_create(props, "absent")
    assert len(plan) == 1 and "adopted" in plan[0][1].argv[2] and not any("qemu-img" in a for a in plan[0][1].argv)
    for stage in ("adopted", "done"):
        assert vm_first_boot.plan_create(props, stage) == ()
    assert vm_first_boot.plan_update(props, props, None) == ()


def test_find_reads_the_stage_on_the_preferred_node(props):
    from hastack.transport import Result
    from hastack.transport.scripted import ScriptedTransport

    hosts = {"node1": ScriptedTransport("node1", answers={"sh -c": Result(0, "booted\n", "")}),
             "node2": ScriptedTransport("node2")}
    assert vm_first_boot.find(props, hosts.get) == "booted"
    assert vm_first_boot.observe(props, hosts.get).stage == "booted" and not hosts["node2"].calls
    hosts["node1"].answers = {"sh -c": Result(0, "absent\n", "")}
    assert vm_first_boot.observe(props, hosts.get) is None


# ---- the step scripts, run by sh against a fake virsh and ssh --------------------------------------
@pytest.fixture()
def fake_host(tmp_path):
    """virsh and ssh on PATH: the domain's state in a file, every virsh call logged, ssh refusing
    the login after the host key was verified (what a booted guest does)."""
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "virsh").write_text('#!/bin/sh\necho "$*" >> "$LOG"\ncase $1 in\n  domstate) cat "$STATE";;\n'
                                   '  create|start) echo running > "$STATE";;\n  shutdown) echo "shut off" > "$STATE";;\n'
                                   'esac\n')
    (bin_dir / "ssh").write_text('#!/bin/sh\necho "root@x: Permission denied (publickey)." >&2\nexit 255\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", LOG=str(tmp_path / "log"),
               STATE=str(tmp_path / "state"))

    def run(props, stage: str, domain: str):
        import subprocess

        (tmp_path / "state").write_text(domain + "\n")
        (tmp_path / "log").write_text("")
        step = next(s for s in vm_first_boot.steps(props) if s.stage == stage)
        argv = list(vm_first_boot._step_run(props, step).argv)
        argv[4] = str(tmp_path / "stage")  # the stage file, here
        argv = [a.replace(vm_first_boot.seed_dir("pg1"), str(tmp_path)) for a in argv]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        recorded = (tmp_path / "stage").read_text().strip() if (tmp_path / "stage").exists() else None
        return done, (tmp_path / "log").read_text().splitlines(), (tmp_path / "state").read_text().strip(), recorded
    return run, tmp_path


def test_a_running_domain_is_not_booted_twice_and_a_stopped_one_is_booted_with_its_seed(props, fake_host):
    run, tmp = fake_host
    done, calls, _, recorded = run(props, "booted", "running")
    assert done.returncode == 0 and calls == ["domstate pg1"] and recorded == "booted"
    done, calls, state, _ = run(props, "booted", "shut off")
    assert calls == ["domstate pg1", f"create {tmp}/boot.xml"] and state == "running"


def test_a_vm_off_before_it_answered_is_started_without_seed_and_then_asked_to_shut_down(props, fake_host):
    run, tmp = fake_host
    done, calls, _, recorded = run(props, "answered", "shut off")
    assert done.returncode == 0 and calls[:2] == ["domstate pg1", "start pg1"] and recorded == "answered"
    assert (tmp / "restarted").exists()
    done, calls, state, recorded = run(props, "shut-off", "running")
    assert done.returncode == 0 and "shutdown pg1" in calls and state == "shut off" and recorded == "shut-off"
    assert not (tmp / "restarted").exists()


def test_the_first_boot_is_never_cut_short_its_own_power_off_is_awaited(props, fake_host):
    run, tmp = fake_host
    (tmp / "stage").write_text("answered\n")
    short = props.model_copy(update={"shutdown_wait_s": 1})
    done, calls, state, recorded = run(short, "shut-off", "running")
    assert done.returncode == 5 and "shutdown pg1" not in calls and state == "running"
    assert "cloud_init.shutdown_wait" in done.stderr and "the next up waits again" in done.stderr
    assert recorded == "answered"  # a failed step records nothing: the next up runs it again
