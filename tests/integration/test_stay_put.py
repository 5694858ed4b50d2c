"""Minimal-change re-resolution: a changed request keeps the versions its previous lock chose
that it still allows, against indexes where newer versions appear between two resolutions."""
import pytest

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.resolve.preferences import Preferences, parse_upgrade_setting
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep, PypiSources
from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex
from tests.fixtures.growing import growing_pypi_index, publish_conda_packages, script_package


@pytest.fixture
def growing_index(tmp_path, engine_settings, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "0")
    with growing_pypi_index(tmp_path / "pypi") as server:
        yield server


@pytest.fixture
def envs(tmp_path, engine_settings):
    return Environments(index=LocalIndex(tmp_path / "index-home"), cache=PackageCache(engine_settings / "packages"))


def _pypi(server, *requirements):
    return EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in requirements), platform="linux-64",
                   pypi_sources=PypiSources(index_url=server.url + "/simple"))


def _versions(env, kind="pypi"):
    return {p.name: p.version for p in env.packages if p.kind == kind}


def test_changed_request_keeps_unchanged_pins(growing_index, envs):
    first = envs.resolve(_pypi(growing_index, "mfenvs-pa", "mfenvs-pb"))
    assert _versions(first) == {"mfenvs-pa": "1.0", "mfenvs-pb": "1.0", "mfenvs-pdep": "1.0"}
    growing_index.grow()
    wider = _pypi(growing_index, "mfenvs-pa", "mfenvs-pb", "mfenvs-pc")

    # Without preferences, the newest versions win: the index did change.
    fresh = envs.resolve(wider, dry_run=True)
    assert _versions(fresh) == {"mfenvs-pa": "1.1", "mfenvs-pb": "1.1", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.1"}

    kept = envs.resolve(wider, force=True, prefer=Preferences.of(first))
    assert _versions(kept) == {"mfenvs-pa": "1.0", "mfenvs-pb": "1.0", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}
    assert kept.req_id == fresh.req_id  # preferences are not part of the request

    one = envs.resolve(wider, prefer=Preferences.of(first, upgrade=["MFENVS_PA"]))
    assert _versions(one) == {"mfenvs-pa": "1.1", "mfenvs-pb": "1.0", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}

    every = envs.resolve(wider, prefer=Preferences.of(first, upgrade_all=True))
    assert _versions(every) == _versions(fresh)


def test_moved_bound_moves_only_that_package(growing_index, envs):
    first = envs.resolve(_pypi(growing_index, "mfenvs-pa", "mfenvs-pb"))
    growing_index.grow()
    moved = envs.resolve(_pypi(growing_index, "mfenvs-pa", "mfenvs-pb>=1.1", "mfenvs-pc"),
                         prefer=Preferences.of(first))
    assert _versions(moved) == {"mfenvs-pa": "1.0", "mfenvs-pb": "1.1", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}


def test_known_request_is_reused_unless_upgrading(growing_index, envs):
    first = envs.resolve(_pypi(growing_index, "mfenvs-pa"))
    growing_index.grow()
    assert envs.resolve(_pypi(growing_index, "mfenvs-pa"), prefer=Preferences.of(first)).full_id == first.full_id
    lifted = envs.resolve(_pypi(growing_index, "mfenvs-pa"), prefer=Preferences.of(first, upgrade=["mfenvs-pdep"]))
    assert _versions(lifted) == {"mfenvs-pa": "1.0", "mfenvs-pdep": "1.1"}


def test_extending_keeps_dependencies_of_the_base(growing_index, envs):
    """`--using`: the base's own requests are pinned, and now its dependencies stay too."""
    base = envs.resolve(_pypi(growing_index, "mfenvs-pa"))
    growing_index.grow()
    extended = envs.extend(base, _pypi(growing_index, "mfenvs-pc"))
    assert _versions(extended) == {"mfenvs-pa": "1.0", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}
    upgraded = envs.extend(base, _pypi(growing_index, "mfenvs-pc"), Preferences.of(base, upgrade=["mfenvs-pa"]))
    assert _versions(upgraded) == {"mfenvs-pa": "1.1", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}


@pytest.fixture
def growing_channel(tmp_path, engine_settings, monkeypatch):
    """A Conda channel of the test's own (file://, so no HTTP cache stands between a
    publication and the next solve); Python comes from this machine."""
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    channel = tmp_path / "mine"
    publish_conda_packages(channel, [script_package("ca", "1.0", ("cdep",)), script_package("cb", "1.0"),
                                     script_package("cc", "1.0"), script_package("cdep", "1.0")])
    return channel


def _conda(channel, *deps):
    return EnvSpec(conda_deps=tuple(CondaDep.parse(d) for d in deps), platform="linux-64", channels=(str(channel),))


def test_conda_changed_request_keeps_unchanged_pins(growing_channel, envs):
    first = envs.resolve(_conda(growing_channel, "ca", "cb"))
    assert _versions(first, "conda") == {"ca": "1.0", "cb": "1.0", "cdep": "1.0"}
    publish_conda_packages(growing_channel, [script_package("ca", "1.1", ("cdep",)), script_package("cb", "1.1"),
                                             script_package("cdep", "1.1")])
    wider = _conda(growing_channel, "ca", "cb", "cc")
    assert _versions(envs.resolve(wider, dry_run=True), "conda") == {"ca": "1.1", "cb": "1.1", "cc": "1.0",
                                                                      "cdep": "1.1"}
    kept = envs.resolve(wider, force=True, prefer=Preferences.of(first))
    assert _versions(kept, "conda") == {"ca": "1.0", "cb": "1.0", "cc": "1.0", "cdep": "1.0"}
    one = envs.resolve(wider, prefer=Preferences.of(first, upgrade=["ca"]))
    assert _versions(one, "conda") == {"ca": "1.1", "cb": "1.0", "cc": "1.0", "cdep": "1.0"}
    moved = envs.resolve(_conda(growing_channel, "ca", "cb>=1.1", "cc"), prefer=Preferences.of(first))
    assert _versions(moved, "conda") == {"ca": "1.0", "cb": "1.1", "cc": "1.0", "cdep": "1.0"}
    every = envs.resolve(wider, prefer=Preferences.of(first, upgrade_all=True))
    assert _versions(every, "conda") == {"ca": "1.1", "cb": "1.1", "cc": "1.0", "cdep": "1.1"}


@pytest.mark.parametrize("value,expected", [("", (False, ())), (":all:", (True, ())),
                                            (" numpy , scikit-learn", (False, ("numpy", "scikit-learn")))])
def test_upgrade_setting(value, expected):
    assert parse_upgrade_setting(value) == expected


@pytest.mark.parametrize("value", [":all:,numpy", "numpy>=2", "a b"])
def test_upgrade_setting_refuses_what_is_not_a_name(value):
    with pytest.raises(SpecError, match="METAFLOW_CONDA_UPGRADE"):
        parse_upgrade_setting(value)
