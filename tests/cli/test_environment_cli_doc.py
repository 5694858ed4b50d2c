"""docs/environment-cli.md's first session and its errors run as written on a machine that
reaches PyPI and no Conda channel (the channel alias points at a closed port); the page says
plainly that its other examples need one."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import base_env
from tests.fixtures.doc_pages import ROOT, console_sessions, run_sessions

PAGE = ROOT / "docs" / "environment-cli.md"

pytestmark = pytest.mark.network  # the session's packages come from pypi.org, as for its reader


def test_the_pypi_session_runs_as_written(tmp_path):
    shown = console_sessions(PAGE, "## A first session, with PyPI alone", "**The rest of this page needs a Conda channel.**")
    assert [s.command.split()[:3] for s in shown][:2] == [["export", "METAFLOW_CONDA_PYTHON_SOURCE=system"],
                                                          ["cat", "requirements.txt"]]
    env = base_env("http://127.0.0.1:9", tmp_path, tmp_path / "cache")
    outputs = run_sessions(shown, tmp_path, env)
    python = outputs["metaflow environment create team/report:v1 --quiet"].stdout.strip().splitlines()[-1]
    assert python.startswith(str(tmp_path / "cache" / "envs")) and python.endswith("/bin/python")

    # train-code as the page's --into-dir example leaves it: made by `create --into-dir`, not empty.
    subprocess.run(["metaflow", "environment", "create", "team/report:v1", "--into-dir", "train-code", "-q"],
                   cwd=str(tmp_path), env=dict(env, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                                          env["PATH"]])), check=True,
                   capture_output=True, timeout=300)
    errors = console_sessions(PAGE, "## Errors")
    assert len(errors) == 6
    run_sessions(errors, tmp_path, env, page_dir="/tmp/docs-demo")
