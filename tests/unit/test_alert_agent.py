"""The alert agent's mapping is data: every kind ends in a catch-all, every text uses known fields,
and docs/monitoring.md states exactly the rendered table."""
from __future__ import annotations

import pytest

from hastack.render.alert_agent import (
    ALERT_RULES, CONDITIONS, FIELDS, KINDS, mapping_table, render_alert_agent, render_send_nsca_config,
)
from tests.conftest import ROOT


def test_every_kind_pacemaker_sends_has_rules_ending_in_a_catch_all():
    assert KINDS == ("node", "fencing", "resource", "attribute")
    for kind in KINDS:
        rules = [r for r in ALERT_RULES if r.kind == kind]
        assert rules[-1].when == "always" and all(r.when != "always" for r in rules[:-1]), kind
        assert all(r.when in CONDITIONS and r.state in (None, 0, 1, 2, 3) for r in rules)


def test_docs_state_the_mapping_as_rendered():
    doc = (ROOT / "docs/monitoring.md").read_text()
    assert mapping_table() in doc, "docs/monitoring.md: paste hastack.render.alert_agent.mapping_table()"


def test_the_script_reads_only_pacemakers_variables_and_sends_through_the_config_file():
    script = render_alert_agent("pgcluster")
    for variable in FIELDS.values():
        assert f"${{{variable}:-}}" in script
    assert 'send_nsca -c "$CONFIG"' in script and "CONFIG=/etc/pacemaker/alert_nsca.cfg" in script
    assert "eval" not in script and "password" not in script.lower().replace("whose password is in", "")


@pytest.mark.parametrize("host,service", [("pg\tcluster", "Pacemaker events"), ("pgcluster", "events\n"),
                                          ("", "x")])
def test_names_that_would_split_the_result_line_are_refused(host, service):
    with pytest.raises(ValueError, match="control character"):
        render_alert_agent(host, service)


def test_send_nsca_config_quotes_the_password_and_never_echoes_a_bad_one():
    text = render_send_nsca_config("10.0.5.51", "hastack-lab5", 'pa"ss\\wo#rd', port=5668)
    assert 'password = "pa\\"ss\\\\wo#rd"\n' in text
    assert text.index("password =") < text.index("server =")
    with pytest.raises(ValueError) as caught:
        render_send_nsca_config("10.0.5.51", "hastack-lab5", "secret-value\nserver = evil")
    assert "secret-value" not in str(caught.value)
