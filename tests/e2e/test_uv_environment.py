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
from tests.fixtures.channel import OLD_PYTHON_VERSION, PY_MAJOR_MINOR, PYTHON_VERSION

from .uv_project import copy_flow, lock_project, narrow_requires_python, serve_index_copy

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


def test_a_project_whose_python_is_not_the_launchers_runs_with_one_it_allows(flows, index, reference_index_url,
                                                                             tmp_path):
    """requires-python excludes the Python running the flow: as `uv sync` would, the environment
    takes a Python the project allows, the newest of the Python source (the channels' python
    here), and one line says which and why. The channel's 3.10 python is a stand-in carrying
    this machine's interpreter (tests/fixtures/channel.py): this proves the choice, not 3.10;
    so the lock holds pure-Python wheels only (the reference index's `requests`), which that
    interpreter installs whatever its version."""
    root, server = index
    project = tmp_path / "older-python-project"
    lock_project(project, root, server.url, ["mfenvs-alpha", "requests"], more_indexes=[reference_index_url])
    requires = ">=3.9, <%s" % PY_MAJOR_MINOR
    narrow_requires_python(project, requires)
    result = flows.run(str(copy_flow(FLOW, project)), environment="uv",
                       env={"METAFLOW_CONDA_PYTHON_SOURCE": "conda"}).check()
    flat = " ".join(result.output.split())
    assert ("uv project %s: Python %s (its requires-python), the newest of the Conda channels' python packages: "
            "the Python running the flow, %s, is not allowed." % (project, requires, PYTHON_VERSION)) in flat, result.output
    assert "(Python %s, " % OLD_PYTHON_VERSION in flat, result.output
    start, _end = _probes(flows, result.run_id)
    assert _version(start, "mfenvs_alpha") == "1.0.0" and start["modules"]["requests"] is not None
    assert list((Path(start["prefix"]) / "conda-meta").glob("python-%s-*.json" % OLD_PYTHON_VERSION))


def test_with_the_system_python_source_a_newer_interpreter_of_this_machine_runs_it(flows, index, tmp_path):
    """The issue's case: `requires-python = ">=3.12"` launched with 3.11 and
    METAFLOW_CONDA_PYTHON_SOURCE=system: the newest interpreter of this machine it allows."""
    from packaging.version import Version

    from metaflow_extensions.envs.plugins.envs.plumbing.interpreters import installed_interpreters

    nxt = "3.%d" % (int(PY_MAJOR_MINOR.split(".")[1]) + 1)
    newer = [v for v in installed_interpreters() if Version(v).release[:2] >= Version(nxt).release]
    if not newer:  # a fresh CI machine has only the Python running the tests: the test above covers the choice
        pytest.skip("no interpreter of Python %s or newer on this machine" % nxt)
    root, server = index
    project = tmp_path / "newer-python-project"
    lock_project(project, root, server.url, ["mfenvs-alpha", "requests>=2.21.0"])
    narrow_requires_python(project, ">=%s" % nxt)
    result = flows.run(str(copy_flow(FLOW, project)), environment="uv",
                       env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"}).check()
    flat = " ".join(result.output.split())
    assert ("Python >=%s (its requires-python), the newest of this machine's interpreters: the Python running the "
            "flow, %s, is not allowed." % (nxt, PYTHON_VERSION)) in flat, result.output
    newest = max(newer, key=Version)
    assert "(Python %s, " % newest in flat, result.output
    start, _end = _probes(flows, result.run_id)
    assert _version(start, "mfenvs_alpha") == "1.0.0" and start["modules"]["requests"] is not None
    assert "/python%s/" % ".".join(newest.split(".")[:2]) in start["modules"]["mfenvs_alpha"]["file"]
