"""Fixtures for the command-line tests: every command runs through the real `metaflow` entry
point in a subprocess, with the engine pointed at the local test channel and a cache dir
of its own.

`seed` (once per xdist worker) resolves a few named environments and runs a small flow, so
read-only tests need not resolve again; `cli` gives each test a fresh cache (empty, or a
hard-linked copy of the seed's, without its prefixes) and a runner.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

FLOWS = Path(__file__).with_name("flows")
_SCRIPT = Path(sys.executable).with_name("metaflow")
METAFLOW = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "metaflow.cmd.main_cli"]

# Settings of the outer process that would change what the commands do.
_DROPPED = ("METAFLOW_CONDA_SRCS_AUTH_INFO", "METAFLOW_DEBUG_CONDA", "METAFLOW_PROFILE",
            "METAFLOW_DEFAULT_ENVIRONMENT", "METAFLOW_CONDA_USE_REMOTE_LATEST", "PYTHONPATH",
            "METAFLOW_DATASTORE_SYSROOT_LOCAL", "METAFLOW_HOME", "METAFLOW_DEFAULT_DATASTORE",
            "METAFLOW_DEFAULT_METADATA", "JUPYTER_DATA_DIR", "METAFLOW_FEAT_ALWAYS_UPLOAD_CODE_PACKAGE")

BANNER_PREFIXES = ("Metaflow (", "Metaflow ")


class Cli:
    """Runs `metaflow environment ...` (and flows) in `root` with this test's settings."""

    def __init__(self, root: Path, env: Dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.cache = Path(env["METAFLOW_CONDA_CACHE_DIR"])

    def run(self, *args: str, ok: Optional[bool] = True, env: Optional[Dict[str, str]] = None,
            command: Optional[List[str]] = None, timeout: float = 240) -> subprocess.CompletedProcess:
        cmd = (command or METAFLOW) + ["environment", *args]
        proc = subprocess.run(cmd, cwd=str(self.root), env=dict(self.env, **(env or {})),
                              capture_output=True, text=True, timeout=timeout)
        if ok is True:
            assert proc.returncode == 0, "%s\n--- stdout\n%s\n--- stderr\n%s" % (cmd, proc.stdout, proc.stderr)
        elif ok is False:
            assert proc.returncode != 0, "%s succeeded:\n%s\n%s" % (cmd, proc.stdout, proc.stderr)
        return proc

    def json(self, *args: str, **kwargs) -> object:
        return json.loads(self.run(*args, **kwargs).stdout)

    def fails(self, *args: str, status: Optional[int] = None, **kwargs) -> str:
        """Run a command that must fail with one error line; returns that line."""
        proc = self.run(*args, ok=False, **kwargs)
        return assert_one_line_error(proc, status)

    def flow(self, flow: str, *args: str, ok: Optional[bool] = True, env: Optional[Dict[str, str]] = None,
             timeout: float = 300) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(FLOWS / flow), "--no-pylint", *args]
        proc = subprocess.run(cmd, cwd=str(self.root), env=dict(self.env, **(env or {})),
                              capture_output=True, text=True, timeout=timeout)
        if ok is True:
            assert proc.returncode == 0, "%s\n--- stdout\n%s\n--- stderr\n%s" % (cmd, proc.stdout, proc.stderr)
        return proc


def assert_one_line_error(proc: subprocess.CompletedProcess, status: Optional[int] = None) -> str:
    assert proc.returncode != 0
    if status is not None:
        assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("metaflow-envs error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr  # one line, the last one
    return errors[0]


def base_env(channel_url: str, root: Path, cache: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith("AWS_")}
    env.update({
        "USERNAME": "tester",
        "METAFLOW_USER": "tester",
        "METAFLOW_CONDA_CHANNEL_ALIAS": channel_url + "/",
        "METAFLOW_CONDA_CHANNELS": "conda-forge",
        "METAFLOW_CONDA_CACHE_DIR": str(cache),
        "METAFLOW_CONDA_PYTHON_SOURCE": "conda",
        "METAFLOW_HOME": str(root / "home"),
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(root / "datastore"),
        "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DEFAULT_METADATA": "local",
    })
    return env


def s3_cli(root: Path, channel_server, s3_server, s3_prefix: str, name: str) -> Cli:
    """Machine `name` (its own cache and home under `root`) sharing the S3 datastore at `s3_prefix`."""
    env = base_env(channel_server.url, root / name, root / name / "cache")
    env.update(s3_server.metaflow_env(s3_prefix))
    (root / name).mkdir()
    return Cli(root / name, env)


# ---- the seed: named environments and one flow run, made through the CLI itself ----------
ENVIRONMENT_YML_V1 = "channels: [conda-forge]\ndependencies:\n  - tinyutil==1.1.0\n"
ENVIRONMENT_YML_V2 = "channels: [conda-forge]\ndependencies:\n  - tinyutil==2.0.0\n  - pip:\n    - six==1.16.0\n"
REQUIREMENTS_SIX = "six==1.16.0\n"


class Seed:
    def __init__(self, root: Path, cli: Cli, ids: Dict[str, Dict[str, str]], run_pathspec: str) -> None:
        self.root = root
        self.cli = cli
        self.ids = ids  # alias -> env_id
        self.run_pathspec = run_pathspec  # CodeFlow/<run>/start


@pytest.fixture(scope="session")
def seed(tmp_path_factory, channel_server) -> Seed:
    root = tmp_path_factory.mktemp("cli-seed")
    cli = Cli(root, base_env(channel_server.url, root, root / "cache"))
    (root / "v1.yml").write_text(ENVIRONMENT_YML_V1)
    (root / "v2.yml").write_text(ENVIRONMENT_YML_V2)
    (root / "six.txt").write_text(REQUIREMENTS_SIX)
    ids = {}
    for alias, flag, path in (("team/tiny:v1", "-f", "v1.yml"), ("team/tiny:v2", "-f", "v2.yml"),
                              ("team/six:v1", "-r", "six.txt")):
        # Plain environments for the read-only tests of show/diff/export (Metaflow's needs are
        # tested in test_resolve_options.py).
        docs = cli.json("resolve", flag, path, "--alias", alias, "--json", "-q", "--skip-metaflow-deps")
        ids[alias] = docs[0]["env_id"]
    shutil.copy(FLOWS / "code_flow.py", root / "code_flow.py")
    run_id_file = root / "run-id"
    cli.flow("code_flow.py", "--environment=conda", "run", "--run-id-file", str(run_id_file),
             env={"METAFLOW_FEAT_ALWAYS_UPLOAD_CODE_PACKAGE": "1"})
    return Seed(root, cli, ids, "CodeFlow/%s/start" % run_id_file.read_text().strip())


def pytest_collection_modifyitems(items) -> None:
    """With -n (--dist loadgroup), the tests that read the seed run on one xdist worker, so
    the seed is made once per run rather than once per worker."""
    for item in items:
        if "seeded" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("cli-seed"))


@pytest.fixture
def cli(tmp_path, channel_server) -> Cli:
    """A fresh, empty cache."""
    return Cli(tmp_path, base_env(channel_server.url, tmp_path, tmp_path / "cache"))


@pytest.fixture
def seeded(tmp_path, channel_server, seed) -> Cli:
    """A copy of the seed's cache (its locks, index, aliases and packages; not its
    prefixes), and the seed's datastore for the Metaflow client."""
    cache = tmp_path / "cache"
    shutil.copytree(seed.root / "cache", cache, copy_function=os.link, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in ("envs", "build-envs") or n.endswith(".lock")])
    env = base_env(channel_server.url, tmp_path, cache)
    env["METAFLOW_DATASTORE_SYSROOT_LOCAL"] = str(seed.root / "datastore")
    out = Cli(tmp_path, env)
    out.seed = seed
    return out


@pytest.fixture(scope="session")
def index_url(pypi_index) -> Iterator[str]:
    """The test PyPI index (mfenvs-* projects), served without credentials."""
    from tests.fixtures.servers import StaticFileServer

    with StaticFileServer(pypi_index.root) as server:
        yield server.url + "/simple"


@pytest.fixture(scope="session")
def channel_without_tinyutil_2(conda_channels_dir):
    """The test channels again, but conda-forge without tinyutil 2.0.0: one request, two
    different results depending on which server the channel alias points at. Built once
    into the test cache beside the channels it copies (indexing takes seconds)."""
    import asyncio

    from rattler.index import index_fs

    from tests.fixtures.cache import cache_key, cached_build
    from tests.fixtures.servers import StaticFileServer

    def build(root: Path) -> None:
        generated = ("repodata", "shards")
        shutil.copytree(conda_channels_dir / "conda-forge", root / "conda-forge", copy_function=os.link,
                        ignore=lambda d, names: [n for n in names if n.startswith(("tinyutil-2.0.0",) + generated)])
        asyncio.run(index_fs(root / "conda-forge", force=True))

    # The channels' own directory name carries the key of what they hold.
    root = cached_build("channels-old", cache_key([conda_channels_dir.name]), build)
    with StaticFileServer(root) as server:
        yield server.url
