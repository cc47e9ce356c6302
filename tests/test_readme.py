"""The README's set-up commands and CI stay in step."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _literal_commands(text):
    return [m.strip() for m in re.findall(r"::\n\n    (.+)\n", text)]


def test_ci_runs_the_readme_test_command_verbatim():
    commands = _literal_commands((ROOT / "README.rst").read_text())
    test_command = next(c for c in commands if "[test]" in c)
    assert test_command == 'pip install ".[test]" && pytest'
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
