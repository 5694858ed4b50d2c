"""@pypi(extras=[...]) through the real resolver (uv) against the local index, which holds
mfenvs-pre 1.0.0 and the newer pre-release 2.0.0b1, and mfenvs-sdistonly (no wheel)."""
import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.errors import EnvError
from metaflow_extensions.envs.plugins.envs.integration.decorator_rules import spec_from_attributes
from metaflow_extensions.envs.plugins.envs.kinds import Family
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment


@pytest.fixture
def resolve_pypi(engine_settings, monkeypatch, pypi_index_server):
    """Resolve @pypi attributes against the local index only (on this machine's Python)."""
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    index = pypi_index_server.index_url_with_credentials
    monkeypatch.setenv("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", index)

    def resolve(packages=None, **attributes):
        spec = spec_from_attributes(Family.PYPI, dict(attributes, packages=packages or {"mfenvs-pre": ""}))
        return resolve_environment(spec, Credentials.from_environment([index]))

    return resolve


def _versions(env):
    return {p.name: p.version for p in env.pypi_packages()}


def test_pre_releases_only_with_extras_pre(resolve_pypi):
    assert _versions(resolve_pypi()) == {"mfenvs-pre": "1.0.0"}
    assert _versions(resolve_pypi(extras=["pre"])) == {"mfenvs-pre": "2.0.0b1"}


def test_extras_pre_is_part_of_the_request_id(resolve_pypi):
    assert resolve_pypi(extras=["pre"]).req_id != resolve_pypi().req_id


def test_extras_take_the_references_dashed_spelling(resolve_pypi):
    assert _versions(resolve_pypi(extras=["--pre"])) == {"mfenvs-pre": "2.0.0b1"}


def test_extras_only_binary_reaches_uv(resolve_pypi):
    # Without it, uv would build the sdist (which needs setuptools, not on this index).
    with pytest.raises(EnvError) as err:
        resolve_pypi(packages={"mfenvs-sdistonly": ""}, extras=["only-binary=:all:"])
    assert "mfenvs-sdistonly==0.1.0 has no usable wheels" in str(err.value)
