"""The rendered monitoring files, fed to the real tools: visudo and sudo's own parser on the sudo
rule, Debian's plugins on the NRPE command lines, nagios4 -v on the Nagios objects of the lab5
stack (with a monitoring block: the shipped stacks have none yet).  nagios4 and the plugins are
unpacked by bin/setup, never installed (installing nagios4 would start it)."""
from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unpacked import unpacked, unpacked_env, unpacked_root  # noqa: E402

from hastack.config.load import raw_config, stack_file, unseal, validate  # noqa: E402
from hastack.config.models import CheckThresholds  # noqa: E402
from hastack.render.nagios import render_nagios_files  # noqa: E402
from hastack.render.nrpe import CHECK_PACEMAKER_PATH, nrpe_checks, render_nrpe_config, render_nrpe_sudoers  # noqa: E402

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def config(root):
    raw = unseal(raw_config(stack_file("lab5", root)))
    raw["monitoring"] = {"nagios": {"address": "10.0.5.51"},
                         "nsca": {"identity": "hastack-lab5", "password": "not-a-real-one"}}
    return validate(raw, "Pulumi.lab5.yaml + monitoring")


def test_the_sudo_rule_parses_and_permits_one_command_line(tmp_path):
    path = tmp_path / "nrpe-pacemaker"
    path.write_text(render_nrpe_sudoers("nagios"))
    path.chmod(0o440)
    check = subprocess.run(["visudo", "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    parsed = json.loads(subprocess.run(["cvtsudoers", "-f", "json", str(path)], capture_output=True, text=True,
                                       check=True).stdout)
    (spec,) = parsed["User_Specs"]
    assert spec["User_List"] == [{"username": "nagios"}]
    (cmnd,) = spec["Cmnd_Specs"]
    assert cmnd["runasusers"] == [{"username": "root"}] and cmnd["Options"] == [{"authenticate": False}]
    assert cmnd["Commands"] == [{"command": "/usr/sbin/crm_mon --one-shot --output-as xml"}]


def test_the_nrpe_command_lines_run_with_debians_plugins(config):
    """Each seed check, as NRPE would run it (split on spaces, no shell), from the unpacked plugins:
    a plugin that refuses its arguments exits 3 with a usage message."""
    plugins = unpacked("usr/lib/nagios/plugins")
    checks = nrpe_checks(config.monitoring.thresholds, str(plugins))
    for check in checks:
        if check.argv[0] == CHECK_PACEMAKER_PATH:
            continue  # tests/tools/test_check_pacemaker.py runs it
        p = subprocess.run(check.command_line.split(" "), capture_output=True, text=True, timeout=30,
                           env=unpacked_env())
        assert p.returncode in (0, 1, 2), f"{check.command_line}: {p.returncode} {p.stdout} {p.stderr}"
        assert p.stdout.split()[0] in ("LOAD", "DISK", "USERS", "SWAP"), p.stdout
    text = render_nrpe_config("10.0.5.51", checks)
    assert f"command[check_disk]={plugins}/check_disk -w 20% -c 10% -p /" in text


def test_swap_absent_is_the_state_of_a_host_without_swap():
    """The lab's guests have no swap: the plugin's own answer is CRITICAL, `-n ok` makes it OK."""
    if len(Path("/proc/swaps").read_text().splitlines()) > 1:
        pytest.skip("this machine has swap: the plugin's no-swap path cannot be reached here")
    plugins = str(unpacked("usr/lib/nagios/plugins"))
    for absent, rc in ((None, 2), ("ok", 0), ("warning", 1)):
        [swap] = [c for c in nrpe_checks(CheckThresholds(swap_absent=absent), plugins) if c.name == "check_swap"]
        p = subprocess.run(swap.command_line.split(" "), capture_output=True, text=True, timeout=30, env=unpacked_env())
        assert p.returncode == rc and p.stdout.startswith("SWAP"), (swap.command_line, p.returncode, p.stdout)


def _main_config(tmp_path: Path, objects: Path) -> Path:
    """Debian's nagios.cfg in miniature: its sample objects, the plugins' command templates (which the
    package's postinst copies to /etc/nagios-plugins/config), check_nrpe's, and the rendered dir."""
    root = unpacked_root()
    spool = tmp_path / "spool"
    spool.mkdir()
    lines = [f"cfg_file={root}/etc/nagios4/objects/{name}.cfg" for name in ("commands", "contacts", "timeperiods",
                                                                           "templates")]
    lines += [f"cfg_dir={root}/usr/share/monitoring-plugins/templates-basic",
              f"cfg_file={root}/etc/nagios-plugins/config/check_nrpe.cfg", f"cfg_dir={objects}",
              f"log_file={tmp_path}/nagios.log", f"check_result_path={spool}", f"lock_file={tmp_path}/nagios.lock",
              f"temp_file={tmp_path}/nagios.tmp", f"status_file={tmp_path}/status.dat",
              # nagios -v re-reads its files as this user: the one running the test, who can.
              f"nagios_user={pwd.getpwuid(os.getuid()).pw_name}", f"nagios_group={grp.getgrgid(os.getgid()).gr_name}",
              "illegal_macro_output_chars=`~$&|'\"<>"]
    main = tmp_path / "nagios.cfg"
    main.write_text("\n".join(lines) + "\n")
    return main


def nagios_verify(main: Path) -> subprocess.CompletedProcess:
    nagios = unpacked("usr/sbin/nagios4")
    unpacked("etc/nagios4/objects/templates.cfg")
    unpacked("usr/share/monitoring-plugins/templates-basic")
    unpacked("etc/nagios-plugins/config/check_nrpe.cfg")
    return subprocess.run([str(nagios), "-v", str(main)], capture_output=True, text=True, timeout=60,
                          env=unpacked_env())


def test_nagios_accepts_the_objects_of_every_guest_and_cluster(config, tmp_path):
    objects = tmp_path / "hastack"
    objects.mkdir()
    files = render_nagios_files(config)
    assert sorted(files) == ["cluster-lab5.cfg", "cluster-pgcluster.cfg", "hastack-passive-only.cfg", "pg1.cfg",
                             "pg2.cfg"]
    for name, text in files.items():
        (objects / name).write_text(text)
    p = nagios_verify(_main_config(tmp_path, objects))
    assert "Total Errors:   0" in p.stdout and "Total Warnings: 0" in p.stdout and p.returncode == 0, p.stdout
    assert "Checked 4 hosts." in p.stdout and "Checked 12 services." in p.stdout  # 2 guests x 5 + 2 feeds


def test_nagios_refuses_a_guest_defined_twice(config, tmp_path):
    """The same check catches what a hand-edited server would break (the seed greps for 0 errors)."""
    objects = tmp_path / "hastack"
    objects.mkdir()
    files = render_nagios_files(config)
    for name, text in files.items():
        (objects / name).write_text(text)
    (objects / "pg1-copy.cfg").write_text(files["pg1.cfg"])
    p = nagios_verify(_main_config(tmp_path, objects))
    assert p.returncode != 0 and "Total Errors:   0" not in p.stdout


NRPE_IN_A_NETNS = """
ip link set lo up && ip addr add 10.0.5.51/32 dev lo && ip addr add 10.0.5.53/32 dev lo || exit 99
"$NRPE" -c "$CONFIG" -f & pid=$!
for _ in $(seq 50); do "$CHECK_NRPE" -H 10.0.5.53 -b 10.0.5.51 >/dev/null 2>&1 && break; sleep 0.1; done
for source in 10.0.5.51 127.0.0.1 10.0.5.53; do
    echo "== $source"; "$CHECK_NRPE" -H 10.0.5.53 -b "$source" -c check_disk 2>&1; echo "rc=$?"
done
echo "== arguments"; "$CHECK_NRPE" -H 10.0.5.53 -b 10.0.5.51 -c check_disk -a x 2>&1; echo "rc=$?"
kill "$pid"
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace needs root")
def test_the_real_nrpe_answers_only_the_nagios_server_and_takes_no_arguments():
    """The rendered NRPE config run by Debian's nrpe, in a network namespace of its own whose loopback
    holds the guest's (10.0.5.53) and the Nagios server's (10.0.5.51) addresses: nothing leaves it."""
    nrpe, check_nrpe = unpacked("usr/sbin/nrpe"), unpacked("usr/lib/nagios/plugins/check_nrpe")
    plugins = unpacked("usr/lib/nagios/plugins")
    try:
        pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
    except KeyError:
        pytest.skip("no nobody/nogroup to run NRPE as (it refuses root)")

    # NRPE drops to `nobody`, which must reach the plugins: a world-readable copy, not the cache.
    with tempfile.TemporaryDirectory(prefix="hastack-nrpe-") as work:
        work = Path(work)
        work.chmod(0o755)
        shutil.copytree(plugins, work / "plugins")
        checks = nrpe_checks(CheckThresholds(), str(work / "plugins"))
        config = work / "nrpe.cfg"
        config.write_text(render_nrpe_config("10.0.5.51", checks, nrpe_user="nobody").replace(
            "nrpe_group=nobody", "nrpe_group=nogroup"))
        env = dict(unpacked_env(), NRPE=str(nrpe), CHECK_NRPE=str(check_nrpe), CONFIG=str(config))
        p = subprocess.run(["unshare", "--net", "--fork", "--kill-child", "bash", "-c", NRPE_IN_A_NETNS],
                           capture_output=True, text=True, timeout=60, env=env)
    answers = dict(part.split("\n", 1) for part in p.stdout.split("== ")[1:])
    assert answers["10.0.5.51"].startswith("DISK ") and "rc=3" not in answers["10.0.5.51"], p.stdout + p.stderr
    for refused in ("127.0.0.1", "10.0.5.53"):  # localhost too: the seed allowed it
        # NRPE drops the connection: check_nrpe says so, or dies of SIGPIPE (rc 141) writing to it.
        assert "DISK" not in answers[refused] and "rc=0" not in answers[refused], answers[refused]
    assert "DISK" not in answers["arguments"] and "rc=0" not in answers["arguments"]
