"""Fixtures for running real flows (tests/e2e/flows/run_*.py) with `--environment=conda`.

Every flow runs in a subprocess (its own `python flow.py ... run`, or `metaflow.Runner`), with
METAFLOW_HOME and the local datastore in the test's tmp dir and the engine pointed at the
local Conda channel. The engine's cache (packages, locks, the local index with aliases,
prefixes) is one directory per test session (per xdist worker), so an environment resolved
by one test is reused by the next.
"""
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

FLOWS = Path(__file__).with_name("flows")

# Settings of the outer process that would change what the flows do.
_DROPPED = ("METAFLOW_CONDA_SRCS_AUTH_INFO", "METAFLOW_DEBUG_CONDA", "METAFLOW_PROFILE",
            "METAFLOW_DEFAULT_ENVIRONMENT", "METAFLOW_CONDA_USE_REMOTE_LATEST", "PYTHONPATH",
            "MFENVS_E2E_FAIL", "MFENVS_E2E_BASE_PATHSPEC", "METAFLOW_DATASTORE_SYSROOT_LOCAL",
            "METAFLOW_HOME", "METAFLOW_DEFAULT_DATASTORE", "METAFLOW_DEFAULT_METADATA")


@pytest.fixture(scope="session")
def e2e_cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mfenvs-e2e-cache")


@pytest.fixture(scope="session")
def engine_env(channel_server, e2e_cache_dir) -> Dict[str, str]:
    """What the engine needs, in the flows' processes and in this one: the local channel
    (through the channel alias, as a mirror would be) and the session's cache."""
    return {
        "USERNAME": "tester",
        "METAFLOW_CONDA_CHANNEL_ALIAS": channel_server.url + "/",
        "METAFLOW_CONDA_CHANNELS": "conda-forge",
        "METAFLOW_CONDA_CACHE_DIR": str(e2e_cache_dir),
        "METAFLOW_CONDA_PYTHON_SOURCE": "conda",
    }


@contextmanager
def patched_environ(values: Dict[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the engine calls made by this (test) process."""
    saved = {k: os.environ.get(k) for k in list(values) + list(_DROPPED)}
    for key in _DROPPED:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def named_envs(engine_env) -> Dict[str, object]:
    """Environments resolved and aliased through the engine API in the session's cache, so
    flows find them in the local index:

    - team/tiny:v1 (tinyutil 1.1.0) and team/tiny:v2 (tinyutil 2.0.0), each with what
      Metaflow needs in a task (its pinned libraries, as the flows' own environments get);
    - team/bare:v1, tinyutil 1.1.0 and nothing else.

    Returns the ResolvedEnvironments by tag ("v1", "v2", "bare") and, as "v1_prefix", the
    prefix `Environments().create` gives v1."""
    from metaflow.metaflow_config import get_pinned_conda_libs

    from metaflow_extensions.envs.plugins.envs.environments import Environments
    from metaflow_extensions.envs.plugins.envs.ids import parse_alias
    from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
    from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep

    pins = get_pinned_conda_libs(None, "local")
    metaflow_needs = tuple(PypiDep.parse(name + pin) for name, pin in sorted(pins.items()))
    wanted = (("team/tiny:v1", "v1", "1.1.0", metaflow_needs), ("team/tiny:v2", "v2", "2.0.0", metaflow_needs),
              ("team/bare:v1", "bare", "1.1.0", ()))
    out: Dict[str, object] = {}
    with patched_environ(engine_env):
        manager = Environments()
        for alias, key, version, pypi in wanted:
            spec = EnvSpec(conda_deps=(CondaDep.parse("tinyutil==%s" % version),), pypi_deps=pypi,
                           platform=host_platform())
            env = manager.resolve(spec)
            manager.alias(env, parse_alias(alias))
            out[key] = env
        out["v1_prefix"] = manager.create(out["v1"])
    return out


class FlowRunner:
    """Runs flows of tests/e2e/flows in subprocesses, all sharing one tmp dir (cwd,
    METAFLOW_HOME, local datastore), and reads their results with the Metaflow client."""

    def __init__(self, root: Path, engine_env: Dict[str, str], python: str = sys.executable) -> None:
        self.root = root
        self.python = python  # the Python (and so the Metaflow) the flows run with
        self.env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        self.env.update(engine_env)
        self.env.update({
            "METAFLOW_HOME": str(root / "home"),
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(root / "datastore"),
        })
        self._count = 0

    def run(self, flow: str, *args: str, command: str = "run", env: Optional[Dict[str, str]] = None,
            environment: str = "conda", timeout: float = 300) -> "FlowResult":
        """`python <flow> --no-pylint --environment=<environment> <command> <args>`; never
        raises on a failed run (the caller asserts)."""
        self._count += 1
        run_id_file = self.root / ("run-id-%d" % self._count)
        cmd = [self.python, str(FLOWS / flow), "--no-pylint", "--environment=" + environment, command,
               "--run-id-file", str(run_id_file), *args]
        proc = subprocess.run(cmd, cwd=str(self.root), env=dict(self.env, **(env or {})),
                              capture_output=True, text=True, timeout=timeout)
        run_id = run_id_file.read_text().strip() if run_id_file.exists() else None
        return FlowResult(proc, run_id)

    def read(self, pathspec: str) -> Dict[str, object]:
        """The run's status and every public artifact of every task (JSON), with the task's
        `conda_env_id` metadata, through the Metaflow client in a fresh process that sees this runner's datastore."""
        script = (
            "import json, sys\n"
            "from metaflow import Run, namespace\n"
            "namespace(None)\n"
            "run = Run(sys.argv[1])\n"
            "steps = {}\n"
            "for step in run:\n"
            "    steps[step.id] = [dict({a.id: a.data for a in task if not a.id.startswith('_')\n"
            "                            and a.id != 'name'}, task_id=task.id,\n"
            "                           conda_env_id=task.metadata_dict.get('conda_env_id')) for task in step]\n"
            "print(json.dumps({'successful': run.successful, 'finished': run.finished,\n"
            "                  'steps': steps}, default=repr))\n"
        )
        proc = subprocess.run([sys.executable, "-c", script, pathspec], cwd=str(self.root), env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])


class FlowResult:
    def __init__(self, proc: subprocess.CompletedProcess, run_id: Optional[str]) -> None:
        self.proc = proc
        self.run_id = run_id
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr

    def check(self) -> "FlowResult":
        assert self.returncode == 0, self.output
        assert self.run_id, "no run id written:\n" + self.output
        return self


@pytest.fixture
def flows(tmp_path, engine_env) -> FlowRunner:
    return FlowRunner(tmp_path, engine_env)


@pytest.fixture(scope="session")
def reference_index_url():
    """The index of the reference examples' PyPI packages (fake pandas, requests...), served
    on 127.0.0.1, as `http://.../simple`: flows get it as METAFLOW_CONDA_DEFAULT_PYPI_SOURCE."""
    from tests.fixtures.pypi_index import REFERENCE_PROJECTS, ensure_pypi_index
    from tests.fixtures.servers import StaticFileServer

    with StaticFileServer(ensure_pypi_index("reference-pypi-index", REFERENCE_PROJECTS).root) as server:
        yield server.url + "/simple"


RETRY_FLOW = FLOWS / "retry_flow.py"


def run_retry_flow(root: Path, *run_options: str) -> str:
    """retry_flow.py run (with `run_options` after `run`) with --environment=pypi, the system
    Python and a cache of its own, all in `root`; returns the run's output (the run must succeed)."""
    env = dict(os.environ, USERNAME="tester", METAFLOW_HOME=str(root), METAFLOW_DATASTORE_SYSROOT_LOCAL=str(root),
               METAFLOW_CONDA_PYTHON_SOURCE="system", METAFLOW_CONDA_CACHE_DIR=str(root / "cache"))
    out = subprocess.run([sys.executable, str(RETRY_FLOW), "--no-pylint", "--environment=pypi", "run", *run_options],
                         cwd=str(root), env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@pytest.fixture(scope="session")
def retry_flow_first_run(tmp_path_factory):
    """retry_flow.py run once in a fresh dir and cache: (that dir, the run's output). Read by
    test_retry.py and run again in that dir by test_force_rebuild.py (one real run, not two;
    both files are in xdist group "retry-flow", so one worker runs it)."""
    root = tmp_path_factory.mktemp("retry-flow")
    return root, run_retry_flow(root)


@pytest.fixture(scope="session")
def node_python(tmp_path_factory):
    """A bare node Python for the simulated remote nodes (test_remote_node.py): a venv holding
    boto3 and requests only."""
    venv = tmp_path_factory.mktemp("node-python") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    assert uv, "uv (a dependency of metaflow-envs) not found"
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "boto3", "requests"],
                   check=True, timeout=300, env=dict(os.environ, UV_PYTHON_DOWNLOADS="never"))
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import metaflow"], capture_output=True, text=True)
    assert out.returncode != 0, "the node Python must not have Metaflow of its own"
    return venv
