"""The lowest Metaflow pyproject.toml declares runs real flows: the README's main job, a
@conda flow on the test channel and a @named_env flow. What we declare is what we test.

The flows run with a venv holding exactly `metaflow==<declared minimum>` and this package's
other dependencies (from PyPI), built once and cached by those versions; this checkout is
put on the flows' path, so the cached venv never holds stale code of ours.
"""
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import List, Tuple

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.fixtures.cache import cache_key, cached_build

from .conftest import FlowRunner

pytestmark = pytest.mark.network  # Metaflow and the package's dependencies come from pypi.org

ROOT = Path(__file__).resolve().parents[2]


def declared_dependencies() -> Tuple[str, List[str]]:
    """The lowest Metaflow pyproject.toml allows, and the package's other dependencies."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    metaflow = [Requirement(d) for d in deps if Requirement(d).name == "metaflow"]
    assert len(metaflow) == 1, deps
    lowest = [s.version for s in metaflow[0].specifier if s.operator == ">="]
    assert len(lowest) == 1, "pyproject.toml must declare metaflow>=<lowest supported>: %s" % metaflow[0]
    return lowest[0], [d for d in deps if Requirement(d).name != "metaflow"]


@pytest.fixture(scope="session")
def lowest_metaflow_python() -> Tuple[str, str]:
    """(the lowest declared Metaflow version, the Python of a venv that has it)."""
    version, others = declared_dependencies()

    def build(out: Path) -> None:
        venv.create(str(out / "venv"), with_pip=True)
        subprocess.run([str(out / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "metaflow==%s" % version, *others], check=True, capture_output=True, timeout=600)

    key = cache_key([version, *others, sys.version])
    return version, str(cached_build("lowest-metaflow-venv", key, build) / "venv" / "bin" / "python")


def test_readme_main_job_conda_and_named_flows_run_on_the_lowest_declared_metaflow(
        tmp_path, engine_env, named_envs, lowest_metaflow_python):
    version, python = lowest_metaflow_python
    # This checkout, not an installed copy (the venv is shared by checkouts and test runs).
    flows = FlowRunner(tmp_path, engine_env, python=python)
    ours = {"PYTHONPATH": str(ROOT)}

    def ran_on_the_lowest(output: str) -> bool:
        # e.g. "Metaflow 2.12.0+envs(0.1.0) executing": the extensions after "+"
        found = re.search(r"Metaflow ([^\s+]+)\S* executing", output)
        return bool(found) and Version(found.group(1)) == Version(version)

    # The README's main job, as it runs it: PyPI packages, this machine's Python.
    hello = flows.run(str(ROOT / "examples" / "hello_flow.py"), environment="pypi",
                      env=dict(ours, METAFLOW_CONDA_PYTHON_SOURCE="system")).check()
    assert ran_on_the_lowest(hello.output), hello.output
    assert "start runs in " in hello.output and "with requests" in hello.output, hello.output

    conda = flows.run("run_envs_flow.py", env=ours).check()
    assert ran_on_the_lowest(conda.output), conda.output
    data = flows.read("RunEnvsFlow/%s" % conda.run_id)
    start = data["steps"]["start"][0]["probe"]
    assert (start["modules"]["tinyutil"]["version"], start["modules"]["tinyutil"]["installer"]) == ("1.1.0", "conda")
    assert data["steps"]["pypi_step"][0]["probe"]["modules"]["six"]["version"] == "1.16.0"

    named = flows.run("run_named_flow.py", env=ours).check()
    assert ran_on_the_lowest(named.output), named.output
    assert named_envs["v1"].full_id[:12] in named.output  # the launcher looked up team/tiny:v1
    probe = flows.read("RunNamedFlow/%s" % named.run_id)["steps"]["start"][0]["probe"]
    assert probe["prefix"] == str(named_envs["v1_prefix"])
    assert probe["modules"]["tinyutil"]["version"] == "1.1.0"
