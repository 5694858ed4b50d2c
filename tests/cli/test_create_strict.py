"""`metaflow environment create --strict/--no-strict`, as the reference's create means it:
for a step without a code package, `--into-dir` gets the Metaflow version the step ran with
(its `metaflow_version` metadata) in the environment; `--strict` (the default) fails when that
version cannot be installed there, `--no-strict` creates the environment without it.

The PyPI index is the test's own (tests/fixtures/pypi_index.py): a fake `requests` (what
Metaflow needs in a task) and fake `metaflow` wheels, so which Metaflow went in is visible."""
import subprocess
from pathlib import Path

import pytest
from metaflow.metaflow_version import get_version

from tests.fixtures.channel import FAKE_REQUESTS_API
from tests.fixtures.pypi_index import PyProject, publish
from tests.fixtures.servers import StaticFileServer

# The version a local run records, as an index would serve it (no `+local` part).
RECORDED = get_version().split("+")[0]


def _metaflow(version):
    return PyProject("metaflow", version, "metaflow")


@pytest.fixture
def no_code_run(cli, tmp_path):
    """A run of code_flow.py that saved no code package, resolved against an index holding
    `requests` and a Metaflow other than the one the run records."""
    index = tmp_path / "index"
    publish(index, [PyProject("requests", "2.31.0", "requests", init_code=FAKE_REQUESTS_API), _metaflow("0.0.1")])
    with StaticFileServer(index) as server:
        cli.env["METAFLOW_CONDA_DEFAULT_PYPI_SOURCE"] = server.url + "/simple"
        run_id_file = tmp_path / "run-id"
        cli.flow("code_flow.py", "--environment=conda", "run", "--run-id-file", str(run_id_file))
        yield cli, index, "CodeFlow/%s/start" % run_id_file.read_text().strip()


def _python_says(into: Path, code: str) -> str:
    return subprocess.run([str(into / "__conda_python"), "-c", code], capture_output=True, text=True,
                          timeout=120).stdout.strip()


def test_strict_is_the_default_and_fails_when_the_steps_metaflow_cannot_be_installed(no_code_run, tmp_path):
    cli, index, pathspec = no_code_run
    into = tmp_path / "code"
    line = cli.fails("create", pathspec, "--into-dir", str(into), status=1)
    assert "Metaflow %s, which step %s ran with, cannot be installed in its environment" % (RECORDED, pathspec) in line
    assert "Add --no-strict" in line
    assert not into.exists()  # nothing half-written

    # --exact never extends: it says so instead.
    line = cli.fails("create", pathspec, "--into-dir", str(into), "--exact", "--no-strict", status=1)
    assert "has no code package" in line and "drop --exact" in line and not into.exists()

    # --no-strict: created without it, with a warning naming what is missing.
    proc = cli.run("create", pathspec, "--into-dir", str(into), "--no-strict")
    assert "cannot be installed in its environment" in proc.stderr and "(--no-strict)" in proc.stderr
    assert _python_says(into, "import tinyutil; print(tinyutil.__version__)") == "1.1.0"
    assert _python_says(into, "import importlib.util; print(importlib.util.find_spec('metaflow'))") == "None"

    # Once the index serves it, the default (--strict) puts that very Metaflow in (max age 0:
    # uv asks the index again rather than reusing the page it cached above).
    publish(index, [_metaflow(RECORDED)])
    into2 = tmp_path / "code2"
    cli.run("create", pathspec, "--into-dir", str(into2), env={"METAFLOW_CONDA_PYPI_INDEX_MAX_AGE": "0"})
    assert _python_says(into2, "import metaflow; print(metaflow.__doc__)").startswith("Fake metaflow %s" % RECORDED)
