"""Verification (verify/): an environment is hydrated in a scratch prefix and its requested
packages imported before it is recorded. PyPI packages come from the local test index
(served without credentials), Conda ones from the local test channel; the cache is the
test's own, so what one test verified or recorded is not seen by another."""
from pathlib import Path
from typing import Iterator, List

import pytest

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import with_defaults
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep, PypiSources
from metaflow_extensions.envs.plugins.envs.verify import Verification
from tests.fixtures.channel import host_can_run_real_python
from tests.fixtures.servers import StaticFileServer

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test channel's Python runs on linux-64")


@pytest.fixture(scope="module")
def index_url(pypi_index) -> Iterator[str]:
    with StaticFileServer(pypi_index.root) as server:
        yield server.url + "/simple"


@pytest.fixture
def envs(engine_settings, monkeypatch, tmp_path) -> Environments:
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    return Environments()


def _spec(index_url: str, conda=(), pypi=(), platform: str = "linux-64") -> EnvSpec:
    return EnvSpec(conda_deps=tuple(CondaDep.parse(c) for c in conda), pypi_deps=tuple(PypiDep.parse(p) for p in pypi),
                   pypi_sources=PypiSources(index_url=index_url), platform=platform)


def _scratch_entries(tmp_path: Path) -> List[Path]:
    scratch = tmp_path / "cache" / "scratch"
    return list(scratch.iterdir()) if scratch.exists() else []


def test_an_environment_that_does_not_import_is_refused_and_not_recorded(envs, index_url, tmp_path):
    spec = _spec(index_url, pypi=["mfenvs-brokenpair==1.0.0", "mfenvs-alpha==1.0.0"])
    reports: List[Verification] = []
    with pytest.raises(ResolveError) as raised:
        envs.resolve(spec, verify=reports.append)
    message = str(raised.value)
    # the module, the error's last line with where it was raised, and the versions involved
    assert "mfenvs-brokenpair 1.0.0: import mfenvs_brokenpair failed: ValueError: mfenvs_otherdep.dtype size " \
           "changed, may indicate binary incompatibility (at mfenvs_brokenpair/__init__.py, line 6" in message
    assert "its dependencies here: mfenvs-otherdep 2.0.0" in message
    assert "mfenvs_alpha" not in message  # the one that imports is not blamed
    assert reports == []
    filled = with_defaults(spec)
    assert envs.index.default(filled.platform, filled.req_id) is None  # nothing recorded
    assert _scratch_entries(tmp_path) == []  # the scratch prefix is gone
    assert not (tmp_path / "cache" / "verified").exists()


def test_the_same_request_pinned_to_what_works_verifies(envs, index_url, tmp_path):
    spec = _spec(index_url, conda=["tinyutil==1.1.0", "ffmpeg"],
                 pypi=["mfenvs-brokenpair==1.0.0", "mfenvs-otherdep<2"])
    reports: List[Verification] = []
    env = envs.resolve(spec, verify=reports.append)
    [report] = reports
    assert set(report.imported) == {"tinyutil", "mfenvs_brokenpair", "mfenvs_otherdep"}
    assert report.skipped == ("ffmpeg",) and report.warnings() == []
    assert any("ffmpeg has no importable module" in note for note in report.notes())
    assert envs.index.default(env.arch, env.req_id).full_id == env.full_id  # recorded
    assert _scratch_entries(tmp_path) == []
    # Reused later (a flow's next run): remembered, not hydrated again.
    envs.resolve(spec, verify=reports.append)
    assert reports[-1].earlier and "verified earlier" in reports[-1].notes()[0]


def test_a_process_ending_import_is_named(envs, index_url, tmp_path):
    with pytest.raises(ResolveError, match=r"mfenvs-exits 1\.0\.0: import mfenvs_exits failed: ended the Python "
                                           r"process \(exit status 3\)"):
        envs.resolve(_spec(index_url, pypi=["mfenvs-exits"]), verify=lambda report: None)
    assert _scratch_entries(tmp_path) == []


def test_another_platform_is_reported_as_not_verified(envs, index_url, tmp_path):
    reports: List[Verification] = []
    env = envs.resolve(_spec(index_url, conda=["tinyutil==1.1.0"], platform="osx-arm64"), verify=reports.append)
    assert reports[0].warnings() == ["The osx-arm64 environment %s not verified: it is for osx-arm64 and this "
                                     "machine is linux-64, so it cannot run here." % env.full_id[:12]]
    assert envs.index.default(env.arch, env.req_id) is not None  # recorded: nothing failed
    assert not (tmp_path / "cache" / "scratch").exists()  # nothing was hydrated


def test_an_environment_reused_from_the_datastore_is_verified_before_it_is_recorded(
        envs, index_url, tmp_path, monkeypatch):
    """METAFLOW_CONDA_USE_REMOTE_LATEST: another user's broken environment, published without
    verification, is refused here and does not become this machine's default."""
    from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
    from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore
    from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

    store = EnvStore("local", str(tmp_path / "datastore" / "conda_env"))
    spec = _spec(index_url, pypi=["mfenvs-brokenpair==1.0.0"])
    theirs = Environments(store=store)
    theirs.publish(theirs.resolve(spec))

    monkeypatch.setenv("METAFLOW_CONDA_USE_REMOTE_LATEST", ":any:")
    mine = Environments(store=store, index=LocalIndex(tmp_path / "mine"), cache=PackageCache(tmp_path / "mine" / "pkgs"))
    with pytest.raises(ResolveError, match="import mfenvs_brokenpair failed"):
        mine.resolve(spec, verify=lambda report: None)
    filled = with_defaults(spec)
    assert mine.index.default(filled.platform, filled.req_id) is None
    assert _scratch_entries(tmp_path) == []
