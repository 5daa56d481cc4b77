"""The rendered alert agent, run for real by bash as Pacemaker runs it: the CRM_alert_* environment
of each event kind in, one passive result line to send_nsca out.  `send_nsca` is a stand-in first
on PATH that records its arguments, its standard input and whether it saw a secret (the real client
needs a server); the real send_nsca then reads the rendered client config."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unpacked import unpacked, unpacked_env  # noqa: E402

from hastack.render.alert_agent import render_alert_agent, render_send_nsca_config  # noqa: E402
from tests.conftest import fake_bin  # noqa: E402

pytestmark = pytest.mark.tools

CONFIG = "/etc/pacemaker/alert_nsca.cfg"
FAKE_SEND_NSCA = """#!/bin/bash
printf '%s\\n' "$@" > "$RECORD.args"
env > "$RECORD.env"
cat > "$RECORD.stdin"
exit "${FAKE_RC:-0}"
"""
HOSTILE = 'x"; touch "$PWNED"; $(touch "$PWNED") `touch "$PWNED"` %s %n\nsecond line\ttab\x17etb | perf=1; semi;colon\''


@pytest.fixture()
def agent(tmp_path: Path):
    bin_dir = fake_bin(tmp_path, "send_nsca", FAKE_SEND_NSCA)
    script = tmp_path / "alert_nsca.sh"
    script.write_text(render_alert_agent("pgcluster"))
    record = tmp_path / "record"

    def call(fake_rc: int = 0, **crm) -> tuple[int, str, dict]:
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(record), "FAKE_RC": str(fake_rc),
               "PWNED": str(tmp_path / "PWNED"), "CRM_alert_recipient": "nagios", "CRM_alert_version": "2.1.5",
               "CRM_alert_timestamp": "09:04:12.123456", **{f"CRM_alert_{k}": v for k, v in crm.items()}}
        p = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert not (tmp_path / "PWNED").exists(), "a value from Pacemaker was executed"
        sent = {}
        if record.with_suffix(".stdin").exists():
            sent = {"args": record.with_suffix(".args").read_text().splitlines(),
                    "stdin": record.with_suffix(".stdin").read_text(),
                    "env": record.with_suffix(".env").read_text()}
            for suffix in (".args", ".stdin", ".env"):
                record.with_suffix(suffix).unlink()
        return p.returncode, p.stderr, sent

    return call


def result(sent: dict) -> tuple[str, str, int, str]:
    """The one result line, split as send_nsca splits it: host, service, state, message."""
    assert sent["args"] == ["-c", CONFIG]
    line = sent["stdin"]
    assert line.endswith("\n") and line.count("\n") == 1 and "\x17" not in line, repr(line)
    host, service, state, message = line[:-1].split("\t")
    return host, service, int(state), message


CASES = [
    # (what, CRM_alert_* values, state, words in the message)
    ("node joined", dict(kind="node", node="pg1", desc="member", nodeid="1"), 0, ["node pg1 joined the cluster"]),
    ("node lost", dict(kind="node", node="pg1", desc="lost", nodeid="1"), 2, ["node pg1 lost from the cluster"]),
    ("node other state", dict(kind="node", node="pg1", desc="pending"), 1, ["node pg1 is now pending"]),
    ("fenced", dict(kind="fencing", node="pg1", task="reboot", rc="0",
                    desc="Operation reboot of pg1 by pg2 for pacemaker-controld.1@pg2: OK"), 1,
     ["node pg1 fenced (reboot): Operation reboot of pg1 by pg2"]),
    ("fencing failed", dict(kind="fencing", node="pg1", task="reboot", rc="1", desc="Error"), 2,
     ["fencing of pg1 (reboot) FAILED, rc 1: Error"]),
    ("resource started", dict(kind="resource", node="pg2", rsc="pgsql", task="start", interval="0", rc="0",
                              target_rc="0", status="0", desc="ok"), 0, ["pgsql start on pg2: ok"]),
    ("probe found it stopped, as expected", dict(kind="resource", node="pg2", rsc="pgvip", task="monitor",
                                                 interval="0", rc="7", target_rc="7", status="0",
                                                 desc="not running"), 0, ["pgvip monitor on pg2: not running"]),
    ("monitor failed", dict(kind="resource", node="pg1", rsc="pgsql", task="monitor", interval="10000", rc="7",
                            target_rc="0", status="0", desc="not running"), 2,
     ["pgsql monitor (interval 10000ms) on pg1 FAILED: not running (rc 7, expected 0)"]),
    ("start timed out", dict(kind="resource", node="pg1", rsc="pgsql", task="start", interval="0", rc="1",
                             target_rc="0", status="2", desc="Timed Out"), 2, ["FAILED: Timed Out"]),
    ("fail count", dict(kind="attribute", node="pg1", attribute_name="fail-count-pgsql#monitor_10000",
                        attribute_value="1"), 1, ["fail-count-pgsql#monitor_10000=1 on pg1"]),
    ("other attribute", dict(kind="attribute", node="pg1", attribute_name="master-drbd-pgdata",
                             attribute_value="10000"), 0, ["attribute master-drbd-pgdata=10000 on pg1"]),
    ("unknown kind", dict(kind="weather", node="pg1"), 3, ["unknown alert kind weather"]),
]


@pytest.mark.parametrize("what,crm,state,words", CASES, ids=[c[0] for c in CASES])
def test_each_event_kind_becomes_one_result_of_the_feed_service(agent, what, crm, state, words):
    code, stderr, sent = agent(**crm)
    assert code == 0, stderr
    host, service, got_state, message = result(sent)
    assert (host, service, got_state) == ("pgcluster", "Pacemaker events", state), message
    assert message.startswith("[09:04:12.123456] ")
    for word in words:
        assert word in message, f"{what}: {word!r} not in {message!r}"


def test_a_cancelled_operation_is_not_sent(agent):
    code, _, sent = agent(kind="resource", node="pg1", rsc="pgsql", task="monitor", interval="10000", rc="0",
                          target_rc="0", status="1", desc="Cancelled")
    assert code == 0 and sent == {}


@pytest.mark.parametrize("field", ["desc", "node", "rsc", "task", "kind"])
def test_hostile_values_stay_one_line_of_text_and_are_never_run(agent, field):
    crm = dict(kind="resource", node="pg1", rsc="pgsql", task="monitor", interval="0", rc="1", target_rc="0",
               status="4", desc="error")
    crm[field] = HOSTILE
    code, stderr, sent = agent(**crm)
    assert code == 0, stderr
    host, service, state, message = result(sent)  # one line, four fields
    assert (host, service) == ("pgcluster", "Pacemaker events") and state in (2, 3)
    assert '$(touch "$PWNED")' in message and "%s %n" in message  # printed as it came, not run or formatted
    assert "second line tab etb / perf=1; semi;colon'" in message and "|" not in message


def test_a_long_description_is_cut_to_one_readable_line(agent):
    _, _, sent = agent(kind="node", node="pg1", desc="x" * 5000)
    assert len(result(sent)[3]) == 1000


def test_no_secret_reaches_the_client_except_through_its_config_file(agent):
    _, _, sent = agent(kind="node", node="pg1", desc="lost")
    assert sent["args"] == ["-c", CONFIG]
    assert "password" not in sent["env"].lower() and "password" not in sent["stdin"].lower()


def test_a_failed_submission_is_the_agents_exit_code_and_is_said(agent):
    code, stderr, _ = agent(fake_rc=1, kind="node", node="pg1", desc="lost")
    assert code == 1 and "send_nsca exited 1 for a node event" in stderr


def test_run_by_hand_without_an_event_it_says_so(agent):
    code, stderr, sent = agent()
    assert code == 1 and "no CRM_alert_kind" in stderr and sent == {}


def test_the_script_parses_and_lints_clean(tmp_path):
    script = tmp_path / "alert_nsca.sh"
    script.write_text(render_alert_agent("lab5"))
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (setup/apt-packages.txt lists it)")
    lint = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_the_real_send_nsca_reads_the_rendered_config_past_a_hostile_password(tmp_path):
    """No nsca-ng server here: the client reads the config, then fails to reach 127.0.0.1 on a closed
    port.  Naming that server (set after the password) shows it parsed the password line as one value."""
    send_nsca = unpacked("usr/sbin/send_nsca")
    config = tmp_path / "alert_nsca.cfg"
    password = 'pa"ss\\wo#rd \'x\' = y'
    config.write_text(render_send_nsca_config("127.0.0.1", "hastack-lab5", password, port=9, timeout_s=2))
    config.chmod(0o600)
    p = subprocess.run([str(send_nsca), "-c", str(config)], input="pgcluster\tPacemaker events\t0\tok\n",
                       capture_output=True, text=True, timeout=30, env=unpacked_env())
    assert p.returncode != 0 and "(127.0.0.1)" in p.stderr, p.stderr
    assert "Unexpected" not in p.stderr and password not in p.stderr
    broken = config.read_text().replace('\\"', '"')
    config.write_text(broken)
    p = subprocess.run([str(send_nsca), "-c", str(config)], input="x\t0\tok\n", capture_output=True, text=True,
                       timeout=30, env=unpacked_env())
    assert "Unexpected stuff" in p.stderr  # the same check does catch a badly quoted password
