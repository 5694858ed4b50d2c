"""The reference's flow mutators, `from metaflow import resolved_uv, resolved_req`, in real
flows (`python flow.py --environment=conda run`): every step pinned to a uv project's lock or
to a requirements file, through @pypi_base(lockfile=...) / @pypi_base(requirements=...).

The uv project is locked while only mfenvs-alpha 1.0.0 is on the test index, 2.0.0 published
right after (uv_project.py): a step with 2.0.0 was re-resolved. Metaflow's `requests` comes
from pypi.org."""
import pytest

from .conftest import FLOWS
from .test_local_flows import _only, _version
from .test_uv_environment import index  # noqa: F401  (the fixture: a copy of the test index, served)
from .uv_project import copy_flow, lock_project

pytestmark = pytest.mark.network  # requests (what Metaflow needs in a task) from pypi.org


def _probes(flows, flow_name, run_id):
    data = flows.read("%s/%s" % (flow_name, run_id))
    assert data["successful"]
    return [_only(data, step)["probe"] for step in ("start", "end")]


def test_resolved_uv_runs_every_step_in_the_projects_lock(flows, index, tmp_path):
    root, server = index
    project = tmp_path / "project"
    lock_project(project, root, server.url, ["mfenvs-alpha", "requests>=2.21.0"])
    flow = copy_flow(FLOWS / "mutator_resolved_uv_flow.py", project)
    result = flows.run(str(flow)).check()
    for probe in _probes(flows, "MutatorResolvedUvFlow", result.run_id):
        assert _version(probe, "mfenvs_alpha") == "1.0.0"  # as locked; 2.0.0 is on the index
        assert _version(probe, "mfenvs_otherdep") == "2.0.0"  # uv's default groups (dev), as lockfile= takes them
        assert probe["modules"]["requests"] is not None


def test_resolved_uv_with_a_flow_decorator_of_its_own_is_refused(flows, index, tmp_path):
    root, server = index
    project = tmp_path / "project"
    lock_project(project, root, server.url, ["mfenvs-alpha"])
    flow = copy_flow(FLOWS / "mutator_resolved_uv_flow.py", project)
    flow.write_text(flow.read_text().replace("@resolved_uv\n", "@resolved_uv\n@pypi_base(packages={'six': ''})\n")
                    .replace("import FlowSpec,", "import FlowSpec, pypi_base,"))
    result = flows.run(str(flow))
    flat = " ".join(result.output.split())
    assert result.returncode != 0 and "Traceback" not in result.output, result.output
    assert "@resolved_uv pins every step of the flow, which also has @pypi_base: keep one of them." in flat, flat


def test_resolved_req_prefers_the_pinned_requirements_txt(flows, index, tmp_path):
    _root, server = index
    here = tmp_path / "req-flow"
    reqs = here / "reqs"
    reqs.mkdir(parents=True)
    (reqs / "requirements.in").write_text("mfenvs-beta\n")
    (reqs / "requirements.txt").write_text("--extra-index-url %s/simple\nmfenvs-alpha==1.0.0\nmfenvs-beta==1.0.0\n"
                                           % server.url)
    flow = copy_flow(FLOWS / "mutator_resolved_req_flow.py", here)
    result = flows.run(str(flow), env={"MFENVS_E2E_REQS": str(reqs)}).check()
    assert not reqs.exists()  # `end` ran without it
    for probe in _probes(flows, "MutatorResolvedReqFlow", result.run_id):
        assert _version(probe, "mfenvs_alpha") == "1.0.0" and _version(probe, "mfenvs_beta") == "1.0.0"


def test_resolved_req_names_a_missing_path(flows, tmp_path):
    here = tmp_path / "no-reqs"
    here.mkdir()
    result = flows.run(str(copy_flow(FLOWS / "mutator_resolved_req_flow.py", here)))
    flat = " ".join(result.output.split())
    assert result.returncode != 0 and "Traceback" not in result.output, result.output
    assert "@resolved_req(path='reqs'): %s not found (paths are relative to the flow file)." % (here / "reqs") in flat
