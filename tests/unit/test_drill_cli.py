"""`python -m hastack drill` refuses before touching any host."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def drill(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hastack", "drill", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_stack_that_does_not_allow_drills_is_refused():
    result = drill("--stack", "lab5", "--yes")  # the seed's real-world cluster
    assert result.returncode == 2
    assert "DRILLS_NOT_ALLOWED" in result.stderr and "hastack:drills: {allowed: true}" in result.stderr


def test_an_unknown_scenario_is_refused_with_the_choices():
    result = drill("--stack", "lab", "--scenario", "H9", "--yes")
    assert result.returncode == 2 and "no scenario H9; choose from A1, A2a" in result.stderr


def test_without_yes_nothing_happens_unless_the_stack_name_is_typed():
    result = subprocess.run([sys.executable, "-m", "hastack", "drill", "--stack", "lab", "--scenario", "H3"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, input="no\n")
    assert result.returncode == 1 and "not confirmed, nothing done" in result.stdout


def test_the_lab_allows_drills_and_lab5_never_does():
    from hastack.config.load import load_stack

    assert load_stack("lab").drills.allowed is True
    assert load_stack("lab5").drills.allowed is False


def test_every_scenario_has_its_injection_and_the_nine_are_the_seeds():
    from hastack.drill.run import INJECTIONS, UNDO
    from hastack.drill.scenarios import ORDER, SCENARIOS

    assert ORDER == ("A1", "A2a", "A2b", "A3", "A4", "H1", "H2a", "H2b", "H3")
    assert {s.inject for s in SCENARIOS.values()} == set(INJECTIONS)
    assert set(UNDO) <= set(INJECTIONS)


def test_drill_plot_redraws_the_pictures_from_a_drills_results(tmp_path):
    recorded = Path(__file__).parent / "data" / "drill-live" / "H3.json"
    (tmp_path / "drill.json").write_text(recorded.read_text())
    result = subprocess.run([sys.executable, "-m", "hastack", "drill-plot", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {tmp_path / 'H3.svg'}"
    assert (tmp_path / "H3.svg").read_text().startswith("<?xml")


def test_drill_plot_without_a_drills_results_says_what_it_wants(tmp_path):
    def plot() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hastack", "drill-plot", str(tmp_path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    result = plot()
    assert result.returncode == 2 and "ERROR DRILL_RESULTS:" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "drill.json").write_text('{"scenario": "H3"}')
    result = plot()
    assert result.returncode == 2 and "does not hold a drill's results" in result.stderr
    assert "Traceback" not in result.stderr
