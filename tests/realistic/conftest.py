"""A user's machine, not a sandbox: a HOME whose `~/.config/pip/pip.conf` names an extra index
(a wheelhouse of real wheels served on 127.0.0.1 behind basic auth, its credentials in
`~/.netrc`), and the suite's pip isolation undone (no PIP_CONFIG_FILE=/dev/null) in the
commands these tests start. What the real CLI and a real flow resolve there is compared with
what pip itself picks (`pip install --dry-run --report`) on the same input.

The wheelhouse holds older releases of packages also on pypi.org (tabulate 0.8.10, six 1.15.0)
and a release with wheels for another Python only (MarkupSafe 2.1.5): the shapes that broke
resolution when uv searched pip's indexes with its own first-index rule.

This machine's system-wide pip files are outside that HOME (XDG_CONFIG_DIRS points at an
empty directory): the tests build their own pip.conf and depend on nothing of this machine.
"""
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from packaging.utils import canonicalize_name

from tests.cli import conftest as cli_conftest
from tests.cli.conftest import METAFLOW
from tests.fixtures.servers import StaticFileServer
from tests.fixtures.wheelhouse import Wheelhouse, ensure_wheelhouse

# Settings of the outer process that would change what the commands do, and where the user's
# files would be looked for elsewhere than in the HOME made here.
_DROPPED = cli_conftest._DROPPED + ("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", "METAFLOW_CONDA_PYPI_INDEX_STRATEGY",
                                    "XDG_CONFIG_HOME", "NETRC")
USER = "wheelhouse-user"
PASSWORD = "pw-" + secrets.token_hex(12)


@pytest.fixture(scope="session")
def wheelhouse() -> Wheelhouse:
    return ensure_wheelhouse()


@pytest.fixture(scope="session")
def pip_conf_index(wheelhouse: Wheelhouse) -> Iterator[StaticFileServer]:
    """The wheelhouse as pip.conf's extra index, behind basic auth (credentials in ~/.netrc)."""
    with StaticFileServer(wheelhouse.root, auth=(USER, PASSWORD), realm="wheelhouse") as server:
        yield server


@pytest.fixture(scope="session")
def file_index(wheelhouse: Wheelhouse) -> Iterator[StaticFileServer]:
    """The same wheelhouse on another port: the index a requirements file names itself."""
    with StaticFileServer(wheelhouse.root, auth=(USER, PASSWORD), realm="wheelhouse") as server:
        yield server


def pypi_versions(doc: Dict[str, Any]) -> Dict[str, str]:
    """{name: version} of the PyPI packages of an environment document."""
    return {p["name"]: p["version"] for p in doc["packages"] if p["kind"] == "pypi"}


class Machine:
    """Commands run as the user of the realistic HOME would run them."""

    def __init__(self, root: Path, env: Dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.home = Path(env["HOME"])
        self.pip_conf = self.home / ".config" / "pip" / "pip.conf"

    def metaflow(self, *args: str, ok: bool = True, env: Optional[Dict[str, str]] = None,
                 cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        return self._run(METAFLOW + ["environment", *args], ok, env, cwd)

    def flow(self, path: Path, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        return self._run([sys.executable, str(path), "--no-pylint", *args], True, env, path.parent, timeout=900)

    def resolve(self, *args: str) -> Dict[str, Any]:
        """The document of `metaflow environment resolve ARGS --json` (without Metaflow's own needs)."""
        return json.loads(self.metaflow("resolve", *args, "--json", "-q", "--skip-metaflow-deps").stdout)[0]

    def pip_picks(self, requirements: Path, python_version: str) -> Dict[str, str]:
        """What `pip install` picks for `requirements` on this machine, for `python_version`:
        {name: version} of its dry-run report (pip reads the same pip.conf and netrc)."""
        target = self.root / ("pip-target-" + secrets.token_hex(4))
        proc = self._run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                          "--report", "-", "--only-binary=:all:", "--python-version", python_version,
                          "--target", str(target), "-r", str(requirements)], True,
                         {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}, requirements.parent)
        report = json.loads(proc.stdout)
        return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in report["install"]}

    def uv_picks(self, project: Path, python_version: str) -> Dict[str, str]:
        """What `uv pip compile pyproject.toml` picks in `project` (uv reads the project's
        [tool.uv] settings and ~/.netrc, not pip.conf)."""
        from uv import find_uv_bin

        proc = self._run([find_uv_bin(), "pip", "compile", "pyproject.toml", "--quiet", "--no-header",
                          "--no-annotate", "--python-version", python_version, "--python", sys.executable],
                         True, {"UV_CACHE_DIR": str(self.root / "uv-cache")}, project)
        pins = [line.split("==") for line in proc.stdout.splitlines() if "==" in line]
        return {canonicalize_name(name.strip()): version.strip() for name, version in pins}

    def _run(self, cmd: List[str], ok: bool, env: Optional[Dict[str, str]], cwd: Optional[Path],
             timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=str(cwd or self.root), env=dict(self.env, **(env or {})),
                              capture_output=True, text=True, timeout=timeout)
        assert (proc.returncode == 0) == ok, "%s\n--- stdout\n%s\n--- stderr\n%s" % (cmd, proc.stdout, proc.stderr)
        return proc


@pytest.fixture(scope="session")
def machine(tmp_path_factory, pip_conf_index: StaticFileServer) -> Machine:
    """The realistic HOME, shared by the family (one cache, so a request resolved once is
    reused): pip.conf's extra index on 127.0.0.1, its credentials in ~/.netrc only."""
    root = tmp_path_factory.mktemp("realistic")
    home = root / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        "[global]\nextra-index-url = %s/simple\n" % pip_conf_index.url)
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1\nlogin %s\npassword %s\n" % (USER, PASSWORD))
    netrc.chmod(0o600)
    (root / "etc-xdg").mkdir()
    # The suite's isolation, undone: no PIP_CONFIG_FILE, so pip.conf is read as on any machine;
    # this machine's own PIP_* (and UV_*) variables stay out, as they are not the user's.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "AWS_")) and k not in _DROPPED}
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_DIRS": str(root / "etc-xdg"),
        "USERNAME": "tester",
        "METAFLOW_USER": "tester",
        "METAFLOW_CONDA_PYTHON_SOURCE": "system",
        "METAFLOW_CONDA_CACHE_DIR": str(root / "cache"),
        "METAFLOW_HOME": str(root / "metaflow-home"),
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(root / "datastore"),
        "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DEFAULT_METADATA": "local",
    })
    return Machine(root, env)
