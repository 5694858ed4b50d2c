"""`python flow.py --environment=uv run` (and `resume`) in a uv project: every step runs in
exactly the uv.lock's packages, with the environment's own Python, never re-resolved.

The project is locked while only mfenvs-alpha 1.0.0 is on the test index; 2.0.0 is published
right after (see uv_project.py). Metaflow's `requests` comes from pypi.org.
"""
import re
from pathlib import Path

import pytest

from .conftest import FLOWS
from .test_local_flows import _assert_in_env, _only, _version
from .uv_project import copy_flow, lock_project, serve_index_copy

pytestmark = [pytest.mark.network,  # requests (what Metaflow needs in a task) from pypi.org
              pytest.mark.xdist_group("uv-project")]  # one worker locks the project once

FLOW = FLOWS / "uv_project_flow.py"


@pytest.fixture(scope="module")
def index(pypi_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("uv-index") / "index"
    server = serve_index_copy(pypi_index.root, root)
    yield root, server
    server.stop()


@pytest.fixture(scope="module")
def project(index, tmp_path_factory) -> Path:
    root, server = index
    project = tmp_path_factory.mktemp("uv-project") / "project"
    lock_project(project, root, server.url, ["mfenvs-alpha", "requests>=2.21.0"])
    copy_flow(FLOW, project)
    return project


def _probes(flows, run_id):
    data = flows.read("UvProjectFlow/%s" % run_id)
    assert data["successful"]
    return [_only(data, step)["probe"] for step in ("start", "end")]


def test_every_step_runs_in_the_locked_versions_with_the_environments_python(flows, project, index, e2e_cache_dir):
    _root, server = index
    mark = server.mark()
    result = flows.run(str(project / FLOW.name), environment="uv").check()
    assert "Traceback" not in result.output
    assert not [r for r in server.requests_since(mark) if r.path.startswith("/simple")], "the lock was re-resolved"
    start, end = _probes(flows, result.run_id)
    for probe in (start, end):
        _assert_in_env(probe, e2e_cache_dir)
        assert (Path(probe["prefix"]) / ".metaflow-envs-complete").is_file()
        assert _version(probe, "mfenvs_alpha") == "1.0.0"  # as locked; 2.0.0 is on the index
        assert probe["modules"]["requests"] is not None
        assert probe["modules"]["mfenvs_beta"] is None  # an extra nobody selected
        assert probe["modules"]["mfenvs_otherdep"] is None  # the dev group, as `uv sync --no-dev`
    assert start["prefix"] == end["prefix"]


def test_resume_reruns_the_failed_step_in_the_same_environment(flows, project):
    failed = flows.run(str(project / FLOW.name), environment="uv", env={"MFENVS_E2E_FAIL": "1"})
    assert failed.returncode != 0 and "end fails on purpose" in failed.output, failed.output
    resumed = flows.run(str(project / FLOW.name), "--origin-run-id", failed.run_id, command="resume",
                        environment="uv").check()
    start, end = _probes(flows, resumed.run_id)
    assert end["prefix"] == start["prefix"]
    assert _version(end, "mfenvs_alpha") == "1.0.0"


@pytest.mark.parametrize("setting, module", [("METAFLOW_CONDA_UV_EXTRAS=beta", "mfenvs_beta"),
                                             ("METAFLOW_CONDA_UV_GROUPS=tools", "mfenvs_beta"),
                                             ("METAFLOW_CONDA_UV_GROUPS=dev", "mfenvs_otherdep")])
def test_extras_and_groups_are_chosen_by_settings(flows, project, setting, module):
    name, value = setting.split("=")
    result = flows.run(str(project / FLOW.name), environment="uv", env={name: value}).check()
    start, _end = _probes(flows, result.run_id)
    assert start["modules"][module] is not None
    assert _version(start, "mfenvs_alpha") == "1.0.0"


def test_step_decorators_are_refused(flows, project):
    result = flows.run(str(copy_flow(FLOWS / "decorator_merge_ok.py", project)), environment="uv")
    assert result.returncode != 0
    assert "Traceback" not in result.output, result.output
    flat = " ".join(result.output.split())
    assert re.search(r"Step '\w+' uses @conda \(or @conda_base\): with --environment=uv every step", flat), flat
    assert "uv add" in flat and "--environment=conda" in flat


def test_what_metaflow_needs_is_added_on_top_of_a_lock_lacking_it(flows, index, tmp_path):
    root, server = index
    project = tmp_path / "bare-project"
    lock_project(project, root, server.url, ["mfenvs-alpha"])
    result = flows.run(str(copy_flow(FLOW, project)), environment="uv").check()
    flat = " ".join(result.output.split())
    assert "The uv lock lacks what Metaflow needs in a task: requests" in flat, result.output
    start, _end = _probes(flows, result.run_id)
    assert _version(start, "mfenvs_alpha") == "1.0.0"  # the lock's version, 2.0.0 is on the index
    assert start["modules"]["requests"] is not None


def test_a_flow_outside_any_uv_project_is_refused(flows, tmp_path):
    outside = tmp_path / "no-project"
    outside.mkdir()
    result = flows.run(str(copy_flow(FLOW, outside)), environment="uv")
    assert result.returncode != 0
    assert "Traceback" not in result.output, result.output
    assert "No uv.lock in %s or any directory above it" % outside in " ".join(result.output.split())
