"""docs/config-reference.md is the config models, rendered: it never drifts from them."""
from __future__ import annotations

from commands import cli
from hastack.config.models import StackConfig
from hastack.config.reference import COMMAND, PATH, model_paths, render_config_reference
from tests.conftest import ROOT


def test_the_checked_in_reference_is_the_models_rendered():
    checked_in = (ROOT / PATH).read_text() if (ROOT / PATH).is_file() else ""
    assert checked_in == render_config_reference(), (
        f"{PATH} differs from hastack/config/models.py: run `{COMMAND}` and commit the result")


def test_every_field_of_every_model_is_described():
    missing = [f"{model.__name__}.{name}" for model in model_paths(StackConfig)
               for name, field in model.model_fields.items() if not (field.description or "").strip()]
    assert missing == [], "give each field a description= in hastack/config/models.py"


def test_every_model_is_reached_and_has_its_section():
    text = render_config_reference()
    models = model_paths(StackConfig)
    assert {"HypervisorCluster", "ProtectedVm", "GuestPgCluster", "GuestFencing", "ChainOp", "Bmc", "Drills"} \
        <= {m.__name__ for m in models}
    for model, paths in models.items():
        assert f"## {model.__name__}\n" in text and paths, model.__name__
    assert models[next(m for m in models if m.__name__ == "Ssh")] == [
        "hastack:hypervisor.nodes[].ssh", "hastack:guest.nodes[].ssh", "hastack:monitoring.nagios.ssh"]
    # Types, defaults and bounds as the models state them.
    assert "| `token_ms` | [token ms](#token-ms) | `3000` |" in text
    assert "| `drbd_minor` | integer | **required** | ≥ 0, ≤ 1048575 |" in text
    assert "| `port_range` | [port, port] | `[7789, 7838]` |" in text
    assert "| `guest` | [GuestPgCluster](#guestpgcluster), optional | none |" in text


def test_the_command_writes_it_and_check_finds_a_difference(tmp_path, capsys):
    out = tmp_path / "reference.md"
    assert cli.main(["config-reference", "--check", "--out", str(out)]) == 1
    assert f"run `{COMMAND}`" in capsys.readouterr().err
    assert cli.main(["config-reference", "--out", str(out)]) == 0
    assert out.read_text() == render_config_reference()
    assert cli.main(["config-reference", "--check", "--out", str(out)]) == 0
