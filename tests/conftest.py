"""Session fixtures shared by the whole suite; the logic lives in tests/fixtures/."""
from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

# `tests` is a package: keep `tests.fixtures` importable under any pytest import mode.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.fixtures.channel import ensure_channels  # noqa: E402
from tests.fixtures.pypi_index import PypiIndex, PypiIndexServer, ensure_pypi_index  # noqa: E402
from tests.fixtures.servers import StaticFileServer  # noqa: E402


def _session_password() -> str:
    # Distinctive and per-session, so tests can grep logs/files for leaks.
    return "pw-" + secrets.token_hex(12)


@pytest.fixture(scope="session", autouse=True)
def _no_machine_pypi_defaults() -> Iterator[None]:
    """This machine's pip configuration and default PyPI source stay out of every test (and
    of the commands they start): they would change which indexes, find-links and constraints
    a request uses. Tests of that behaviour (tests/realistic/) set their own."""
    import os

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip's own way to read no file at all
        for var in [v for v in os.environ if v.startswith("PIP_") and v != "PIP_CONFIG_FILE"]:
            patch.delenv(var)  # every PIP_* variable is a pip setting (PIP_FIND_LINKS...)
        for var in ("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", "METAFLOW_CONDA_PYPI_INDEX_STRATEGY"):
            patch.delenv(var, raising=False)
        yield


@pytest.fixture(scope="session")
def conda_channels_dir() -> Path:
    """Root holding conda-forge/, comet_ml/, defaults/ (read-only: shared cache)."""
    return ensure_channels()


@pytest.fixture(scope="session")
def channel_server(conda_channels_dir: Path) -> Iterator[StaticFileServer]:
    """Channels root over plain HTTP; use ``.url + "/conda-forge"`` or ``.url`` as channel_alias."""
    with StaticFileServer(conda_channels_dir) as server:
        yield server


@pytest.fixture(scope="session")
def auth_channel_server(conda_channels_dir: Path) -> Iterator[StaticFileServer]:
    """Channels root behind basic auth (``.username`` / ``.password``)."""
    auth = ("mfenvs-conda-user", _session_password())
    with StaticFileServer(conda_channels_dir, auth=auth, realm="mfenvs-conda") as server:
        yield server


@pytest.fixture(scope="session")
def pypi_index() -> PypiIndex:
    """The built simple index on disk (read-only: shared cache)."""
    return ensure_pypi_index()


@pytest.fixture(scope="session")
def pypi_index_server(pypi_index: PypiIndex) -> Iterator[PypiIndexServer]:
    """The simple index behind basic auth (different user and password from the channels)."""
    auth = ("mfenvs-pypi-user", _session_password())
    with StaticFileServer(pypi_index.root, auth=auth, realm="mfenvs-pypi") as server:
        yield PypiIndexServer(server=server, index=pypi_index)


@pytest.fixture
def local_project_dir(pypi_index: PypiIndex, tmp_path: Path) -> Path:
    """A fresh copy of the mfenvs-localdir 0.2.0 source tree (builds write into it)."""
    dest = tmp_path / "mfenvs-localdir"
    shutil.copytree(pypi_index.local_project_source, dest)
    return dest


# ---------------------------------------------------------------- S3 (SeaweedFS)
from tests.fixtures.fault_proxy import S3FaultProxy  # noqa: E402
from tests.fixtures.s3 import S3Server, start_seaweedfs  # noqa: E402


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS) on 127.0.0.1, one per xdist worker; see tests/fixtures/s3.py."""
    server = start_seaweedfs()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_proxy(s3_server: S3Server) -> Iterator[S3FaultProxy]:
    """A fresh fault-injecting proxy in front of ``s3_server`` (no faults until configured)."""
    with S3FaultProxy(s3_server, seed=0) as proxy:
        yield proxy


@pytest.fixture
def s3_prefix(request: pytest.FixtureRequest) -> str:
    """A root prefix no other test uses, for ``metaflow_env(s3_prefix)`` of any datastore server."""
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return "tests/%s-%s" % (name, secrets.token_hex(4))


# ---------------------------------------------------------------- Azure Blob (Azurite), GCS (emulator)
from tests.fixtures.azure import AzureServer, start_azurite  # noqa: E402
from tests.fixtures.gcs import GcsServer, start_gcs_emulator  # noqa: E402


@pytest.fixture(scope="session")
def azure_server() -> Iterator[AzureServer]:
    """A real Azure Blob server (Azurite, from npm) on 127.0.0.1, one per xdist worker; see tests/fixtures/azure.py."""
    server = start_azurite()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GcsServer]:
    """A GCS emulator on 127.0.0.1, one per xdist worker; see tests/fixtures/gcs.py."""
    server = start_gcs_emulator()
    try:
        yield server
    finally:
        server.stop()
