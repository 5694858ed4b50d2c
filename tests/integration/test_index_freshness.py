"""How long PyPI index pages are reused (METAFLOW_CONDA_PYPI_INDEX_MAX_AGE).

The index here is a real HTTP server on 127.0.0.1 that, like many mirrors, sends no caching
headers at all (no Cache-Control, ETag or Last-Modified); its request log shows when a page
was asked for again.
"""
import platform
import time
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep, PypiSources
from tests.fixtures.pypi_index import PyProject, project_page, write_wheel
from tests.fixtures.servers import StaticFileServer

PAGE = "/simple/mfenvs-fresh/"


def _publish(root: Path, *versions: str) -> None:
    """(Re)write the index so that it holds exactly these versions of mfenvs-fresh."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    projects = [PyProject("mfenvs-fresh", v, "mfenvs_fresh") for v in versions]
    page = root / "simple" / "mfenvs-fresh" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(project_page("mfenvs-fresh", [(p, write_wheel(p, root / "files")) for p in projects]))


@pytest.fixture
def fresh_index(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    root = tmp_path / "index"
    _publish(root, "1.0")
    with StaticFileServer(root, validators=False) as server:
        yield root, server


def _resolved_version(server: StaticFileServer) -> str:
    spec = EnvSpec(
        pypi_deps=(PypiDep.parse("mfenvs-fresh"),),
        pypi_sources=PypiSources(index_url=server.url + "/simple"),
        python="%s.%s.*" % platform.python_version_tuple()[:2],
        platform=host_platform(),
    )
    (package,) = resolve_environment(spec).packages
    return package.version


def _page_requests(server: StaticFileServer, since: int) -> int:
    return sum(1 for r in server.requests_since(since) if r.path == PAGE)


def test_pages_are_reused_for_max_age_then_asked_again(fresh_index, monkeypatch):
    root, server = fresh_index
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "2")
    assert _resolved_version(server) == "1.0"

    _publish(root, "1.0", "1.1")
    mark = server.mark()
    assert _resolved_version(server) == "1.0"  # the cached page is still fresh
    assert _page_requests(server, mark) == 0

    time.sleep(2.5)
    mark = server.mark()
    assert _resolved_version(server) == "1.1"  # stale: asked again, the new release is seen
    assert _page_requests(server, mark) == 1


def test_default_max_age_spares_the_index_and_zero_always_asks(fresh_index, monkeypatch):
    root, server = fresh_index
    monkeypatch.delenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", raising=False)
    assert _resolved_version(server) == "1.0"
    mark = server.mark()
    assert _resolved_version(server) == "1.0"
    assert _page_requests(server, mark) == 0

    _publish(root, "1.0", "1.1")
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "0")
    mark = server.mark()
    assert _resolved_version(server) == "1.1"
    assert _page_requests(server, mark) == 1


@pytest.mark.parametrize("value", ["ten minutes", "inf", "nan"])
def test_max_age_that_is_not_a_number_is_one_clear_error(fresh_index, monkeypatch, value):
    _, server = fresh_index
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", value)
    from metaflow_extensions.envs.plugins.envs.errors import SpecError

    with pytest.raises(SpecError, match="METAFLOW_CONDA_PYPI_INDEX_MAX_AGE must be a whole number of seconds from 0 to 604800, not '%s'" % value):
        _resolved_version(server)
