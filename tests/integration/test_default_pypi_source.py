"""A request naming no PyPI index resolves from the configured default: given only through
PIP_INDEX_URL, a pip.conf (PIP_CONFIG_FILE) or METAFLOW_CONDA_DEFAULT_PYPI_SOURCE, the local
index (behind basic auth) serves packages pypi.org does not have, and the lock says so."""
import json
import platform

import pytest

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
from metaflow_extensions.envs.plugins.envs.resolve.resolver import with_defaults
from metaflow_extensions.envs.plugins.envs.spec.model import DEFAULT_INDEX, EnvSpec, PypiDep
from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

# mfenvs-beta (and its dependency mfenvs-alpha) exist only on the local test index.
SPEC = EnvSpec(
    pypi_deps=(PypiDep.parse("mfenvs-beta"),),
    python="%s.%s.*" % platform.python_version_tuple()[:2],
    platform=host_platform(),
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A fresh cache, a fake HOME, and no credentials but those each case configures."""
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.delenv("METAFLOW_CONDA_SRCS_AUTH_INFO", raising=False)
    return tmp_path


def _via_pip_index_url(monkeypatch, tmp_path, server):
    monkeypatch.setenv("PIP_INDEX_URL", server.index_url_with_credentials)


def _via_pip_conf(monkeypatch, tmp_path, server):
    _pip_conf_with(tmp_path, monkeypatch, server, "")


def _via_setting(monkeypatch, tmp_path, server):
    monkeypatch.setenv("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", server.index_url)
    monkeypatch.setenv("METAFLOW_CONDA_SRCS_AUTH_INFO", json.dumps(
        {"%s:%d" % (server.server.host, server.server.port): [server.username, server.password]}))


@pytest.mark.parametrize("configure", [_via_pip_index_url, _via_pip_conf, _via_setting])
def test_the_default_index_comes_from_configuration(isolated, monkeypatch, pypi_index_server, configure):
    server = pypi_index_server
    on_pypi_org = with_defaults(SPEC)  # nothing configured yet (see tests/conftest.py)
    assert on_pypi_org.pypi_sources.index_url == DEFAULT_INDEX
    configure(monkeypatch, isolated, server)

    envs = Environments(store=None, index=LocalIndex())
    env = envs.resolve(SPEC)

    assert {p.name for p in env.packages} == {"mfenvs-alpha", "mfenvs-beta"}
    assert all(p.url.startswith(server.url + "/") for p in env.packages)
    lock = env.to_json()
    assert json.loads(lock)["spec"]["pypi_sources"]["index_url"] == server.index_url
    assert server.password not in lock
    # Another user, with pypi.org as default, never gets this environment for the same request.
    assert env.req_id != on_pypi_org.req_id
    assert envs.index.default(SPEC.platform, on_pypi_org.req_id) is None
    assert envs.index.default(SPEC.platform, env.req_id) is not None
    for path in (isolated / "cache").rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 1 << 20:
            assert server.password.encode() not in path.read_bytes(), path


def _pip_conf_with(tmp_path, monkeypatch, server, text):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = %s\n%s" % (server.index_url_with_credentials, text))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    return conf


def test_pip_constraint_and_pre_reach_the_resolver(isolated, monkeypatch, pypi_index_server):
    """pip.conf's constraint bounds what is resolved (mfenvs-alpha 2.0.0 is the newest), and
    its `pre` lets a pre-release in, as they do for `pip install`."""
    constraints = isolated / "constraints.txt"
    constraints.write_text("mfenvs-alpha<2\n")
    _pip_conf_with(isolated, monkeypatch, pypi_index_server, "constraint = %s\npre = true\n" % constraints)
    spec = EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-beta"), PypiDep.parse("mfenvs-pre")), python=SPEC.python,
                   platform=SPEC.platform)
    env = Environments(store=None, index=LocalIndex()).resolve(spec, dry_run=True)
    assert {p.name: p.version for p in env.packages} == {"mfenvs-alpha": "1.0.0", "mfenvs-beta": "1.0.0",
                                                         "mfenvs-pre": "2.0.0b1"}


def test_pip_only_binary_reaches_the_resolver(isolated, monkeypatch, pypi_index_server):
    """mfenvs-sdistonly has no wheel: with pip's `only-binary = :all:` pip refuses it, and so do we."""
    from metaflow_extensions.envs.plugins.envs.errors import ResolveError

    spec = EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-sdistonly"),), python=SPEC.python, platform=SPEC.platform)
    _pip_conf_with(isolated, monkeypatch, pypi_index_server, "only-binary = :all:\n")
    with pytest.raises(ResolveError, match="mfenvs-sdistonly==0.1.0 has no usable wheels"):
        Environments(store=None, index=LocalIndex()).resolve(spec, dry_run=True)
