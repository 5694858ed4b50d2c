"""docs/environment-cli.md's first session runs as written on a machine that reaches PyPI and
no Conda channel (the channel alias points at a closed port); the page says plainly that its
other examples need one."""
import pytest

from tests.cli.conftest import base_env
from tests.fixtures.doc_pages import ROOT, console_sessions, run_sessions

PAGE = ROOT / "docs" / "environment-cli.md"

pytestmark = pytest.mark.network  # the session's packages come from pypi.org, as for its reader


def test_the_pypi_session_runs_as_written(tmp_path):
    shown = console_sessions(PAGE, "## A first session, with PyPI alone", "**The rest of this page needs a Conda channel.**")
    assert [s.command.split()[:3] for s in shown][:2] == [["export", "METAFLOW_CONDA_PYTHON_SOURCE=system"],
                                                          ["cat", "requirements.txt"]]
    outputs = run_sessions(shown, tmp_path, base_env("http://127.0.0.1:9", tmp_path, tmp_path / "cache"))
    python = outputs["metaflow environment create team/report:v1 --quiet"].stdout.strip().splitlines()[-1]
    assert python.startswith(str(tmp_path / "cache" / "envs")) and python.endswith("/bin/python")
