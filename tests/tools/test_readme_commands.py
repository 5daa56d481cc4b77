"""The README's offline commands, run as the README writes them: a command an operator is shown
that stops working fails the build.  They come from the fenced block right after the marker
`<!-- readme-test: offline -->`, need no lab and no `pulumi up`, and run in the README's order
(simulate reuses the render before it), with `out/` under the test's own directory."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.tools

MARKER = "<!-- readme-test: offline -->"
BLOCK = re.compile(re.escape(MARKER) + r"\n```sh\n(.*?)\n```", re.S)
ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")


def offline_commands(text: str) -> list[tuple[dict[str, str], list[str]]]:
    """(environment assignments, argv) of each line of every marked block, shell comments dropped."""
    out = []
    for block in BLOCK.findall(text):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            env = {}
            while words and ASSIGNMENT.match(words[0]):
                name, value = words.pop(0).split("=", 1)
                env[name] = value
            if words:
                out.append((env, words))
    return out


COMMANDS = offline_commands((ROOT / "README.md").read_text())


def test_the_readme_marks_its_offline_commands():
    assert len(COMMANDS) >= 5, f"no block after {MARKER} in README.md, or too few commands in it"
    # Only hastack's own commands: the test must never run something the README merely mentions.
    assert all(argv[:3] == ["python", "-m", "hastack"] for _, argv in COMMANDS), COMMANDS
    assert {"check", "render", "simulate", "--help"} <= {argv[3] for _, argv in COMMANDS}


def test_the_readme_commands_work_as_written(tmp_path):
    def here(word: str) -> str:  # what the README writes under out/ goes under this test's directory
        return str(tmp_path / word) if word.startswith("out/") else word

    base = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    base.pop("HASTACK_SIMULATE_RENDER", None)
    for assignments, argv in COMMANDS:
        shown = " ".join([*(f"{k}={v}" for k, v in assignments.items()), *argv])
        env = {**base, **{k: here(v) for k, v in assignments.items()}}
        started = time.monotonic()
        result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), *map(here, argv[1:])], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (
            f"README command `{shown}` exited {result.returncode} after {time.monotonic() - started:.0f} s\n"
            f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
