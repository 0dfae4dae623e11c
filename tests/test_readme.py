"""The README's set-up commands are the ones CI runs, and the commands it names exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from encephagen.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


def _readme_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_ci_runs_the_readme_test_command():
    test_command = next(b.strip() for b in _readme_blocks() if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command.replace("pip install -e", "pip install -q -e").replace("pytest -q", "pytest -q") in ci


def test_every_command_the_readme_names_exists():
    text = (ROOT / "README.md").read_text()
    named = set(re.findall(r"`encephagen ([a-z]+)", text))
    available = set(cli.list_commands(None))
    assert named and named <= available, named - available
    for command in sorted(named):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, command


def test_the_readme_python_example_runs():
    example = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(example.replace("print(", "metrics = ("), "README.md", "exec"), namespace)
    assert 0.45 <= namespace["metrics"]["lr_phase"] <= 0.55
