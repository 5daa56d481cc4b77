"""The seed's host preparations in the stack: SELinux booleans on both layers (nagios_run_sudo with
hastack:monitoring, where NRPE runs), the OCF helper links on RHEL guests (guest.ocf_helper_links),
each before what needs it.  The real program under Pulumi's mocks, as `render` runs it."""
from __future__ import annotations

import copy

from hastack.config.load import validate
from hastack.resources import registry
from tests.unit.test_monitoring_wiring import MONITORING


def test_both_layers_set_the_cluster_boolean_before_their_vms_or_pgdata(record, lab_raw):
    off = copy.deepcopy(lab_raw)
    off["monitoring"] = {**off["monitoring"], "enabled": False}
    resources = record(validate(off))
    for cluster, layer in (("lab", "hypervisor"), ("pgcluster", "guest")):
        kind, inputs, depends = resources[f"{cluster}-selinux-booleans"]
        assert (kind, inputs["layer"], len(inputs["nodes"])) == ("SelinuxBooleans", layer, 2)
        assert inputs["booleans"] == {"daemons_enable_cluster_mode": True}  # monitoring off: no nagios_run_sudo
        assert depends == [f"{cluster}-preflight"]
    assert all("lab-selinux-booleans" in resources[f"{vm}-lv"][2] for vm in ("gw1", "pg1", "pg2"))
    assert "pgcluster-selinux-booleans" in resources["pgcluster-drbd"][2]
    assert registry.RANK["SelinuxBooleans"] < registry.RANK["DrbdResource"]


def test_nagios_run_sudo_is_set_where_nrpe_runs_with_monitoring_on(record, lab_raw):
    on = copy.deepcopy(lab_raw)
    on["monitoring"] = copy.deepcopy(MONITORING)
    resources = record(validate(on))
    assert resources["pgcluster-selinux-booleans"][1]["booleans"] == {"daemons_enable_cluster_mode": True,
                                                                     "nagios_run_sudo": True}
    # hastack's NRPE is on the guests alone: the hypervisors never allow nrpe_t its sudo
    assert resources["lab-selinux-booleans"][1]["booleans"] == {"daemons_enable_cluster_mode": True}


def test_the_debian_lab_has_no_helper_links_and_rhel_guests_get_them_before_pgsql(record, lab_raw, lab5_config):
    lab = record(validate(lab_raw))
    assert not [name for name, (kind, _i, _d) in lab.items() if kind == "OcfHelperLinks"]
    lab5 = record(lab5_config)
    [(name, (_kind, inputs, depends))] = [(n, r) for n, r in lab5.items() if r[0] == "OcfHelperLinks"]
    assert name == "pgcluster-ocf-helper-links" and depends == ["pgcluster-preflight"]
    assert (inputs["source_dir"], inputs["link_dir"], inputs["layer"]) == (
        "/usr/lib/ocf/lib/heartbeat", "/lib/heartbeat", "guest")
    assert [n["name"] for n in inputs["nodes"]] == ["pg1", "pg2"]
    assert name in lab5["pgcluster-pgsql"][2] and name in lab5["pgcluster-drbd-clone"][2]
    assert lab5["pgcluster-selinux-booleans"][1]["booleans"] == {"daemons_enable_cluster_mode": True,
                                                                "nagios_run_sudo": True}
    # switched on for a Debian guest, it is there too (and would link only what /lib/heartbeat lacks)
    forced = copy.deepcopy(lab_raw)
    forced["guest"]["ocf_helper_links"] = True
    assert record(validate(forced))["pgcluster-ocf-helper-links"][0] == "OcfHelperLinks"
