"""Real flows run locally with `--environment=conda`: each step runs inside its own resolved
environment (or the outer Python when it has none / is disabled).

Flows are in tests/e2e/flows/run_*.py and record what their interpreter looks like through
run_probe.probe() as the `probe` artifact; the tests read artifacts with the Metaflow client.
Conda packages come from the local test channel (tests/fixtures/channel.py), PyPI ones from
pypi.org. The engine's cache is shared by the session: environments resolve once.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import METAFLOW
from tests.fixtures.channel import INVENTORY

from .conftest import FLOWS, FlowRunner, patched_environ

pytestmark = pytest.mark.network  # PyPI packages (and Metaflow's own `requests`) come from pypi.org

OUTER_PYTHON = sys.executable
OUTER_SITE = [p for p in sys.path if p.endswith("site-packages")]


def _latest(name):
    from packaging.version import Version

    return str(max((Version(p.version) for p in INVENTORY if p.name == name and p.channel == "conda-forge")))


def _only(data, step):
    tasks = data["steps"][step]
    assert len(tasks) == 1, tasks
    return tasks[0]


def _version(probe, module):
    found = probe["modules"][module]
    return None if found is None else found["version"]


def _assert_in_env(probe, cache_dir):
    """The task ran with an interpreter of a prefix under the engine's cache, isolated from
    the outer venv, with Metaflow from the code package."""
    exe = Path(probe["executable"])
    assert Path(cache_dir) in exe.parents, probe["executable"]
    assert probe["executable"] != OUTER_PYTHON
    assert Path(probe["prefix"]) == exe.parent.parent
    assert probe["no_user_site"] == 1
    assert not probe["pytest_importable"], "the outer venv leaks into the step: %s" % probe["sys_path"]
    leaked = [p for p in probe["sys_path"] if any(p == s or p.startswith(s + os.sep) for s in OUTER_SITE)]
    assert not leaked, leaked
    assert not any(probe["metaflow_file"].startswith(s) for s in OUTER_SITE), probe["metaflow_file"]


def _assert_outer(probe):
    assert probe["executable"] == OUTER_PYTHON, probe["executable"]
    assert probe["pytest_importable"]


@pytest.fixture(scope="module")
def module_flows(tmp_path_factory, engine_env) -> FlowRunner:
    """A runner for the flows that several tests read: each of those runs once per module."""
    return FlowRunner(tmp_path_factory.mktemp("local-flows"), engine_env)


@pytest.fixture(scope="module")
def machine_lib(tmp_path_factory) -> Path:
    """This machine's LD_LIBRARY_PATH for envs_run: a folder with a libpython of its own (a
    copy of this interpreter's, when it is a shared library, as the environments' python is)."""
    import sysconfig

    lib = tmp_path_factory.mktemp("machine-lib")
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        for so in Path(sysconfig.get_config_var("LIBDIR")).glob("libpython3*.so*"):
            shutil.copy2(str(so), str(lib / so.name))
    return lib


@pytest.fixture(scope="module")
def envs_run(module_flows, machine_lib):
    """run_envs_flow.py, run once with `machine_lib` as LD_LIBRARY_PATH: (its result, what the
    client reads of it)."""
    result = module_flows.run("run_envs_flow.py", env={"LD_LIBRARY_PATH": str(machine_lib)}).check()
    return result, module_flows.read("RunEnvsFlow/%s" % result.run_id)


@pytest.fixture(scope="module")
def merge_run(module_flows):
    """run_merge_flow.py with --environment=conda, run once: (its result, what the client reads of it)."""
    result = module_flows.run("run_merge_flow.py").check()
    return result, module_flows.read("RunMergeFlow/%s" % result.run_id)


@pytest.fixture(scope="module")
def failing_run(module_flows, named_envs):
    """Runs a flow that must fail, once per flow for the module (with the named environments
    in the cache, as the tests of fetch_at_exec need)."""
    runs = {}

    def run(flow):
        if flow not in runs:
            runs[flow] = module_flows.run(flow)
        return runs[flow]

    return run


# ---------------------------------------------------------------------------------------
# 1. conda-only, pypi-only and mixed steps


@pytest.mark.xdist_group("envs-run")
def test_conda_pypi_and_mixed_steps_run_in_their_environments(envs_run, e2e_cache_dir):
    result, data = envs_run
    assert "Resolving 3 environments for RunEnvsFlow" in result.output
    assert data["successful"]

    start = _only(data, "start")["probe"]
    _assert_in_env(start, e2e_cache_dir)
    assert _version(start, "tinyutil") == "1.1.0"
    assert start["modules"]["tinyutil"]["installer"] == "conda"
    assert _version(start, "six") is None
    assert start["modules"]["requests"] is not None  # what Metaflow itself needs in a task

    pypi = _only(data, "pypi_step")
    _assert_in_env(pypi["probe"], e2e_cache_dir)
    assert _version(pypi["probe"], "six") == "1.16.0"
    assert pypi["probe"]["modules"]["six"]["installer"] == "uv"
    assert _version(pypi["probe"], "tinyutil") is None
    assert pypi["seen_token"] == "made-in-start"

    mixed = _only(data, "mixed")
    _assert_in_env(mixed["probe"], e2e_cache_dir)
    assert _version(mixed["probe"], "tinyutil") == _latest("tinyutil")
    assert mixed["probe"]["modules"]["tinyutil"]["installer"] == "conda"
    assert mixed["probe"]["modules"]["six"]["installer"] == "uv"
    assert mixed["seen_token"] == "made-in-start"

    prefixes = {start["prefix"], pypi["probe"]["prefix"], mixed["probe"]["prefix"]}
    assert len(prefixes) == 3, prefixes  # three different environments
    # Each task's metadata names the environment it ran in (its prefix is named by those ids).
    for task in (_only(data, "start"), pypi, mixed):
        req_id, full_id, arch = task["conda_env_id"].split(":")
        assert task["probe"]["prefix"].endswith("/%s/%s/%s" % (arch, req_id[:16], full_id[:16])), task

    end = _only(data, "end")["probe"]  # no decorator: the Python running the flow
    _assert_outer(end)
    assert _version(end, "tinyutil") is None
    assert _only(data, "end")["conda_env_id"] is None


@pytest.mark.xdist_group("envs-run")
def test_step_tools_and_libraries_come_first_once(envs_run, machine_lib):
    """Inside an environment its bin/ (ffmpeg and the like) is first on PATH, and only once —
    also for a @pypi step, which carries the environment's attached @conda as well. Its lib/
    comes before this machine's LD_LIBRARY_PATH (`machine_lib`, with a libpython of its own)."""
    _result, data = envs_run
    for step in ("start", "pypi_step", "mixed"):
        probe = _only(data, step)["probe"]
        bindir = os.path.dirname(probe["executable"])
        path = probe["path_env"].split(os.pathsep)
        assert path[0] == bindir, (step, path)
        assert path.count(bindir) == 1, (step, path)
        assert probe["library_path"].split(os.pathsep) == [os.path.join(probe["prefix"], "lib"), str(machine_lib)]
        assert probe["orig_library_path"] == str(machine_lib)
        assert all(p.startswith(probe["prefix"] + os.sep) for p in probe["libpython"]), (step, probe["libpython"])


# ---------------------------------------------------------------------------------------
# 2 and 3. @conda_base merged with / overridden by a step's @conda; a disabled step


@pytest.mark.xdist_group("merge-run")
def test_base_and_step_decorators_merge_and_disabled_step_runs_outside(merge_run, e2e_cache_dir):
    _result, data = merge_run

    start = _only(data, "start")["probe"]  # the step's tinyutil wins, chainc comes from the base
    _assert_in_env(start, e2e_cache_dir)
    assert _version(start, "tinyutil") == "2.0.0"
    assert _version(start, "chainc") == _latest("chainc")
    ffmpeg = start["tools"]["ffmpeg"]  # the environment's own tools come first on PATH
    assert ffmpeg is not None and ffmpeg["output"] == "ffmpeg version 6.1.1", ffmpeg
    assert Path(ffmpeg["path"]).parent == Path(start["executable"]).parent

    base = _only(data, "from_base")["probe"]  # no step decorator: the base as it is
    _assert_in_env(base, e2e_cache_dir)
    assert _version(base, "tinyutil") == "1.0.0"
    assert _version(base, "chainc") == _latest("chainc")
    assert base["prefix"] != start["prefix"]
    assert _only(data, "end")["probe"]["prefix"] == base["prefix"]  # same request, same env

    outer = _only(data, "outer")["probe"]  # @conda(disabled=True): the Python running the flow
    _assert_outer(outer)
    assert _version(outer, "tinyutil") is None and _version(outer, "chainc") is None
    assert outer["tools"]["ffmpeg"] is None or "6.1.1" not in outer["tools"]["ffmpeg"]["output"]


@pytest.mark.xdist_group("merge-run")
def test_environments_are_reused_and_pypi_environment_is_the_same(module_flows, merge_run):
    """A second run resolves nothing (the session's cache knows the environments), and
    --environment=pypi selects the very same environments as --environment=conda."""
    _first, before = merge_run
    again = module_flows.run("run_merge_flow.py", environment="pypi").check()
    assert "Resolving 2 environments for RunMergeFlow" in again.output, again.output
    assert "reused" in again.output and "resolved in" not in again.output, again.output
    after = module_flows.read("RunMergeFlow/%s" % again.run_id)
    for step in ("start", "from_base", "outer"):
        assert _only(after, step)["probe"]["prefix"] == _only(before, step)["probe"]["prefix"], step


# ---------------------------------------------------------------------------------------
# 4 and 10. A foreach in an environment, through metaflow.Runner


def test_foreach_and_join_in_environment_through_runner(tmp_path, engine_env, e2e_cache_dir):
    from metaflow import Runner

    env = dict(engine_env, METAFLOW_HOME=str(tmp_path / "home"),
               METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path / "datastore"))
    with patched_environ(env):  # the client below reads the same datastore
        with Runner(str(FLOWS / "run_foreach_flow.py"), show_output=False, cwd=str(tmp_path),
                    environment="conda", pylint=False, env=env) as runner:
            running = runner.run()
            assert running.status == "successful", running.stdout + running.stderr
            run = running.run
            assert run.successful and run.finished

            squares = list(run["square"])
            assert len(squares) == 3
            results = sorted((t.data.result for t in squares), key=lambda r: r["item"])
            assert [(r["item"], r["square"]) for r in results] == [(1, 1), (2, 4), (3, 9)]
            assert {r["tinyutil"] for r in results} == {"1.1.0"}
            exes = {r["executable"] for r in results}
            assert len(exes) == 1 and Path(e2e_cache_dir) in Path(exes.pop()).parents

            join = run["join"].task
            assert [r["item"] for r in join.data.results] == [1, 2, 3]
            _assert_in_env(join.data.probe, e2e_cache_dir)
            assert run["end"].task.data.total == 14


# ---------------------------------------------------------------------------------------
# 5. resume


def test_resume_reruns_the_failed_step_in_its_environment(flows, e2e_cache_dir):
    failed = flows.run("run_resume_flow.py", env={"MFENVS_E2E_FAIL": "1"})
    assert failed.returncode != 0, failed.output
    assert "middle fails on purpose" in failed.output
    first = flows.read("RunResumeFlow/%s" % failed.run_id)
    assert not first["successful"]

    resumed = flows.run("run_resume_flow.py", "--origin-run-id", failed.run_id, command="resume").check()
    assert resumed.run_id != failed.run_id
    data = flows.read("RunResumeFlow/%s" % resumed.run_id)
    assert data["successful"]
    start = _only(data, "start")["probe"]  # cloned from the first run
    assert start == _only(first, "start")["probe"]
    for step in ("middle", "end"):
        probe = _only(data, step)["probe"]
        _assert_in_env(probe, e2e_cache_dir)
        assert _version(probe, "tinyutil") == "1.1.0"
        assert probe["prefix"] == start["prefix"]

    # The cloned `start` ran no task in the resumed run, yet its pathspec names the
    # environment its origin ran in, for `show` and for @named_env(pathspec=...).
    cloned = "RunResumeFlow/%s/start" % resumed.run_id
    shown = subprocess.run(METAFLOW + ["environment", "show", "--json", cloned], cwd=str(flows.root),
                           env=flows.env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    [doc] = json.loads(shown.stdout)
    assert "%(req_id)s:%(full_id)s:%(arch)s" % doc["env_id"] == _only(first, "start")["conda_env_id"]
    named = flows.run("run_named_pathspec_flow.py", env={"MFENVS_E2E_BASE_PATHSPEC": cloned}).check()
    again = _only(flows.read("RunNamedPathspecFlow/%s" % named.run_id), "start")["probe"]
    assert again["prefix"] == start["prefix"]


# ---------------------------------------------------------------------------------------
# 6, 7 and 8. Named environments


def test_named_env_and_then_the_pathspec_of_its_step(flows, named_envs):
    v1, prefix = named_envs["v1"], named_envs["v1_prefix"]
    first = flows.run("run_named_flow.py").check()
    assert v1.full_id[:12] in first.output  # the launcher reports the env it looked up
    probe = _only(flows.read("RunNamedFlow/%s" % first.run_id), "start")["probe"]
    assert probe["prefix"] == str(prefix)
    assert _version(probe, "tinyutil") == "1.1.0"
    assert not probe["pytest_importable"]

    pathspec = "RunNamedFlow/%s/start" % first.run_id
    second = flows.run("run_named_pathspec_flow.py", env={"MFENVS_E2E_BASE_PATHSPEC": pathspec}).check()
    again = _only(flows.read("RunNamedPathspecFlow/%s" % second.run_id), "start")["probe"]
    assert again["prefix"] == str(prefix)
    assert _version(again, "tinyutil") == "1.1.0"


def test_a_named_env_without_metaflow_needs_is_extended_with_them(flows, named_envs):
    """A named environment made without what Metaflow needs in a task (requests) is extended
    with it, as the reference does: the step runs, with the versions the name locked."""
    result = flows.run("run_named_bare_flow.py").check()
    probe = _only(flows.read("RunNamedBareFlow/%s" % result.run_id), "start")["probe"]
    _assert_in_env(probe, flows.env["METAFLOW_CONDA_CACHE_DIR"])
    assert _version(probe, "tinyutil") == "1.1.0"
    assert probe["modules"]["requests"] is not None
    assert probe["prefix"] != str(named_envs["v1_prefix"])


def test_fetch_at_exec_substitutes_the_parameter(flows, named_envs):
    # The parameter's default is v2 (tinyutil 2.0.0): v1 proves the command-line value is used.
    result = flows.run("run_fetch_at_exec_flow.py", "--envtag", "v1").check()
    probe = _only(flows.read("RunFetchAtExecFlow/%s" % result.run_id), "start")["probe"]
    assert probe["prefix"] == str(named_envs["v1_prefix"])
    assert _version(probe, "tinyutil") == "1.1.0"

    result = flows.run("run_fetch_at_exec_flow.py").check()
    probe = _only(flows.read("RunFetchAtExecFlow/%s" % result.run_id), "start")["probe"]
    assert _version(probe, "tinyutil") == "2.0.0"


def test_step_extends_the_named_base_environment(flows, named_envs, e2e_cache_dir):
    result = flows.run("run_extend_flow.py").check()
    data = flows.read("RunExtendFlow/%s" % result.run_id)
    start = _only(data, "start")["probe"]
    _assert_in_env(start, e2e_cache_dir)
    assert _version(start, "tinyutil") == "1.1.0"  # kept at the named env's version
    assert _version(start, "chainc") == _latest("chainc")
    assert start["prefix"] != str(named_envs["v1_prefix"])

    end = _only(data, "end")["probe"]  # no step decorator: the named env as it is
    assert end["prefix"] == str(named_envs["v1_prefix"])
    assert _version(end, "chainc") is None


# ---------------------------------------------------------------------------------------
# 9. User mistakes: one clear message, no traceback, non-zero exit


@pytest.mark.xdist_group("failing-runs")
@pytest.mark.parametrize("flow, expected", [
    ("run_error_unknown_named_flow.py", ["team/does-not-exist:v1"]),
    ("run_error_glibc_flow.py", ["__glibc"]),
    ("run_error_unknown_package_flow.py", ["mfenvs-no-such-package"]),
    ("run_error_fetch_unknown_var_flow.py", ["NOPE"]),
    # Every failing environment, each with its step; Metaflow's echo must not eat the '*'.
    ("run_error_two_steps_flow.py", ["Step start: Conda cannot satisfy mfenvs-no-such-package",
                                     "Step end: Conda cannot satisfy", "python 3.99.\u2217"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_user_mistakes_end_in_one_clear_message(failing_run, flow, expected):
    result = failing_run(flow)
    output = result.output
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    flat = " ".join(output.split())
    for text in expected:
        assert text in flat, output
    assert flat.count("Environment error") == 1, output


def test_resume_looks_up_a_fetch_at_exec_env_with_the_origin_run_parameters(flows, named_envs):
    """`resume` takes no flow parameters on its command line: a re-run step whose environment
    name uses @{METAFLOW_INIT_<PARAM>} must still get the origin run's value (v1 here, not
    the default v2) — as on Argo, where the value is exported to every task."""
    failed = flows.run("run_fetch_at_exec_flow.py", "--envtag", "v1", env={"MFENVS_E2E_FAIL": "1"})
    assert failed.returncode != 0 and "start fails on purpose" in failed.output, failed.output
    resumed = flows.run("run_fetch_at_exec_flow.py", "--origin-run-id", failed.run_id, command="resume")
    assert resumed.returncode == 0, resumed.output
    probe = _only(flows.read("RunFetchAtExecFlow/%s" % resumed.run_id), "start")["probe"]
    assert _version(probe, "tinyutil") == "1.1.0"
    assert probe["prefix"] == str(named_envs["v1_prefix"])


@pytest.mark.xdist_group("failing-runs")
def test_fetch_at_exec_variables_are_the_flow_parameters_not_cli_options(failing_run, named_envs):
    """METAFLOW_INIT_<PARAM> exists for the flow's parameters (as Argo exports them), not for
    Metaflow's own command-line options (--datastore, --max-workers...): those would resolve
    locally and fail remotely."""
    result = failing_run("run_error_fetch_unknown_var_flow.py")
    flat = " ".join(result.output.split())
    assert result.returncode != 0 and "NOPE" in flat, result.output
    assert "METAFLOW_INIT_ENVTAG" in flat, result.output
    for option in ("METAFLOW_INIT_DATASTORE", "METAFLOW_INIT_ENVIRONMENT", "METAFLOW_INIT_MAX_WORKERS",
                   "METAFLOW_INIT_RUN_ID_FILE"):
        assert option not in flat, result.output
