"""LiveCib's query -> pcs -f -> crm_verify -> guarded patch, against real cibadmin on a CIB file
(cibadmin and pcs honour CIB_file), including the races a live cluster produces."""
from __future__ import annotations

import pytest

from hastack import cib
from hastack.cib import LiveCib
from hastack.pacemaker.cluster_config import read_properties
from hastack.transport.local import LocalTransport

pytestmark = pytest.mark.tools


@pytest.fixture()
def live(tmp_path):
    path = tmp_path / "live.xml"
    path.write_text(cib.empty_cib())
    return path, LocalTransport("node1", {"CIB_file": str(path)})


def test_edit_is_one_patch_and_a_repeat_changes_nothing(live):
    path, transport = live
    session = LiveCib(transport)
    assert session.edit([["property", "set", "stonith-enabled=true"], ["resource", "defaults", "update", "resource-stickiness=1"]])
    assert read_properties(path.read_text())["stonith-enabled"] == "true"
    assert session.edit([["property", "set", "stonith-enabled=true"]]) is False  # idempotent: no patch


def test_status_churn_does_not_refuse_the_patch(live):
    path, transport = live

    class Churning(LocalTransport):
        def run(self, argv, stdin=None, **kw):
            if argv[0] == "sh":  # the guarded patch: a monitor result lands just before it
                path.write_text(path.read_text().replace('num_updates="0"', 'num_updates="42"', 1))
            return super().run(argv, stdin, **kw)

    assert LiveCib(Churning("node1", transport.env)).edit([["property", "set", "no-quorum-policy=stop"]])
    assert read_properties(path.read_text())["no-quorum-policy"] == "stop"


def test_a_concurrent_configuration_change_is_kept_and_the_edit_redone(live):
    path, transport = live
    raced = []

    class Racing(LocalTransport):
        def run(self, argv, stdin=None, **kw):
            if argv[0] == "sh" and not raced:  # someone else changes the configuration first
                raced.append(True)
                path.write_text(cib.apply_pcs(path.read_text(), [["property", "set", "maintenance-mode=false"]]))
            return super().run(argv, stdin, **kw)

    assert LiveCib(Racing("node1", transport.env)).edit([["property", "set", "stonith-enabled=true"]])
    props = read_properties(path.read_text())
    assert props["stonith-enabled"] == "true" and props["maintenance-mode"] == "false"
    assert raced


def test_secrets_reach_the_cib_but_not_argv(live):
    path, transport = live
    calls = []

    class Recording(LocalTransport):
        def run(self, argv, stdin=None, **kw):
            calls.append(" ".join(argv))
            return super().run(argv, stdin, **kw)

    placeholder = "@@hastack-secret:fence-node1:password@@"
    LiveCib(Recording("node1", transport.env)).edit(
        [["stonith", "create", "fence-node1", "fence_ipmilan", "ip=10.0.0.1", "username=admin",
          f"password={placeholder}", "pcmk_host_list=node1"]],
        {placeholder: 's3cr"et<&'})
    assert 'value="s3cr&quot;et&lt;&amp;"' in path.read_text()
    assert not any("s3cr" in c for c in calls)


def test_a_schema_invalid_edit_is_refused_before_the_push():
    with pytest.raises(Exception, match="CIB_INVALID"):
        cib.verify(cib.empty_cib().replace("<resources/>", "<resources><bogus/></resources>"))
    # Findings that are normal mid-build (stonith on, no device yet) are not fatal.
    partial = cib.apply_pcs(cib.empty_cib(), [["property", "set", "stonith-enabled=true"]])
    assert "STONITH" in cib.verify(partial)


def test_parallel_edits_go_out_together_and_a_bad_one_fails_alone(live, tmp_path):
    """Pulumi's parallel resources: edits that queue behind a push share the next patch (fewer
    round trips), every edit lands, and a failing edit reports its own error only."""
    import threading

    path, transport = live
    patches = []

    class Counting(LocalTransport):
        def run(self, argv, stdin=None, **kw):
            if argv[0] == "sh":
                patches.append(1)
            return super().run(argv, stdin, **kw)

    counting = Counting("node1", transport.env)
    outcome: dict[str, object] = {}

    def edit(name, commands):
        try:
            outcome[name] = LiveCib(counting).edit(commands)
        except Exception as error:  # noqa: BLE001 - the test records what each edit got
            outcome[name] = error

    threads = [threading.Thread(target=edit, args=(f"d{i}", [["resource", "create", f"d{i}", "ocf:pacemaker:Dummy"]]))
               for i in range(6)]
    threads.append(threading.Thread(target=edit, args=("bad", [["resource", "create", "bad", "ocf:nosuch:Agent"]])))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = path.read_text()
    assert all(outcome[f"d{i}"] is True and f'id="d{i}"' in text for i in range(6)), outcome
    assert isinstance(outcome["bad"], Exception) and "nosuch" in str(outcome["bad"]) and 'id="bad"' not in text
    assert len(patches) < 6, f"{len(patches)} patches for 6 edits"
