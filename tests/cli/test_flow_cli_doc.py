"""docs/flow-environment-cli.md runs as written on a machine that reaches PyPI and no Conda
channel: its console session (a flow of @pypi steps, Python from this machine), then its
Runner example. The Conda channel alias points at a closed port: nothing may need one."""
import shutil
import subprocess
import sys

import pytest

from tests.cli.conftest import base_env
from tests.fixtures.doc_pages import ROOT, console_sessions, run_sessions

PAGE = ROOT / "docs" / "flow-environment-cli.md"

pytestmark = pytest.mark.network  # the page's packages come from pypi.org, as for its reader


def test_the_page_runs_as_written(tmp_path):
    shutil.copy(ROOT / "examples" / "hello_flow.py", tmp_path / "hello_flow.py")  # the page's last example
    env = base_env("http://127.0.0.1:9", tmp_path, tmp_path / "cache")
    shown = console_sessions(PAGE)
    assert shown[0].command == "export METAFLOW_CONDA_PYTHON_SOURCE=system"
    run_sessions(shown, tmp_path, env)

    runner = PAGE.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    script = runner + "print('start' in envs, env.env_type, info.env.env_id == env.env_id)\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=300, env=dict(env, METAFLOW_CONDA_PYTHON_SOURCE="system"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-3:] == ["True", "pypi-only", "True"]
