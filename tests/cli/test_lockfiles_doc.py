"""docs/lockfiles.md's examples run as written: its shell session in a uv project depending on
`requests` (locked by uv against pypi.org), then its flow with `lockfile="uv.lock"`."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "lockfiles.md"
PROJECT = '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.9"\ndependencies = ["requests"]\n'

pytestmark = pytest.mark.network  # uv locks against pypi.org, as the page's reader would


def _block(after: str, fence: str) -> str:
    text = DOC.read_text()
    return re.search(r"```%s\n(.*?)```" % fence, text[text.index(after):], re.S).group(1)


def _uv() -> str:
    return shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def test_the_pages_examples_run_as_written(cli):
    (cli.root / "pyproject.toml").write_text(PROJECT)
    commands = [line[2:].split() for line in _block("### Example", "").splitlines() if line.startswith("$ ")]
    assert [c[0] for c in commands] == ["uv", "metaflow", "metaflow", "uv", "metaflow"]
    outputs = []
    for command in commands:
        if command[0] == "uv":
            subprocess.run([_uv(), *command[1:]], cwd=str(cli.root), check=True, timeout=300, env=cli.env)
        else:
            assert command[1] == "environment"
            outputs.append(cli.run(*command[2:]))
    assert "PyPI packages as locked in uv.lock, not re-resolved" in outputs[0].stderr
    assert "team/app:v1" in cli.run("show", "team/app:v1").stdout
    for proc in outputs:
        assert "requests" in proc.stdout

    flow = cli.root / "locked_flow.py"
    flow.write_text(_block("## In a flow", "python"))
    run = subprocess.run([sys.executable, str(flow), "--no-pylint", "--environment=conda", "run"], cwd=str(cli.root),
                         env=cli.env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    # uv locks one requests per Python range (markers); the one for this Python ran.
    locked = re.findall(r'name = "requests"\nversion = "([^"]+)"', (cli.root / "uv.lock").read_text())
    printed = re.search(r"requests (\S+)", run.stdout).group(1)
    assert printed in locked, (printed, locked)
