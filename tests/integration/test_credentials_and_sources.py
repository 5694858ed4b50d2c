"""Authenticated channels and indexes, source builds, and that passwords never leak."""
import json
import os
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.environments import build_prefix_python
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import python_in
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep, PypiSources

from .conftest_helpers import run_python


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _with_userinfo(url: str, user: str, password: str) -> str:
    return url.replace("http://", "http://%s:%s@" % (user, password), 1)


@pytest.fixture
def private_sources(monkeypatch, tmp_path, auth_channel_server, pypi_index_server):
    """Channel behind auth (credentials from METAFLOW_CONDA_SRCS_AUTH_INFO), index behind
    auth (credentials inline in the URL), and a fresh cache so every file written is ours."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(cache))
    monkeypatch.setenv("METAFLOW_CONDA_CHANNEL_ALIAS", auth_channel_server.url + "/")
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", "conda-forge")
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "conda")
    monkeypatch.setenv("METAFLOW_CONDA_SRCS_AUTH_INFO", json.dumps(
        {"127.0.0.1:%d" % _port(auth_channel_server): [auth_channel_server.username, auth_channel_server.password]}
    ))
    index = _with_userinfo(pypi_index_server.index_url, pypi_index_server.username, pypi_index_server.password)
    return cache, index


def _files_under(*roots: Path):
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    yield path


def test_private_channel_and_index_and_no_password_anywhere(
    private_sources, tmp_path, capfd, auth_channel_server, pypi_index_server, local_project_dir
):
    cache, index = private_sources
    spec = EnvSpec(
        conda_deps=(CondaDep.parse("tinyutil"),),
        pypi_deps=tuple(PypiDep.parse(r) for r in (
            "mfenvs-beta", "mfenvs-sdistonly", "mfenvs-localdir @ %s" % Path(local_project_dir).as_uri(),
        )),
        pypi_sources=PypiSources(extra_index_urls=(index,)),
    )
    # Inline credentials live only in the request, never in the lock: hydration gets them from
    # the same in-memory Credentials (a later process would use AUTH_INFO, netrc or pip.conf).
    credentials = Credentials.from_environment([index])
    env = resolve_environment(spec, credentials, build_python=build_prefix_python)
    names = {p.name: p for p in env.packages}
    assert {"tinyutil", "mfenvs-alpha", "mfenvs-beta", "mfenvs-sdistonly", "mfenvs-localdir"} <= set(names)
    built = names["mfenvs-sdistonly"]
    assert built.filename.endswith(".whl") and built.built_from and len(built.sha256) == 64
    assert names["mfenvs-localdir"].built_from == str(local_project_dir)

    lock_file = tmp_path / "env.json"
    lock_file.write_text(env.to_json())
    prefix = create_prefix(env, tmp_path / "prefix", credentials)
    out = run_python(python_in(prefix), "import tinyutil, mfenvs_beta, mfenvs_alpha, mfenvs_sdistonly, mfenvs_localdir; print('ok')")
    assert out == "ok"

    # The server really required the credentials, for index pages and downloads alike.
    assert any(r.path.endswith(".conda") and r.status == 200 for r in auth_channel_server.requests)
    assert any(r.path.endswith(".whl") and r.status == 200 for r in pypi_index_server.server.requests)

    captured = capfd.readouterr()
    secrets = [auth_channel_server.password, pypi_index_server.password]
    for secret in secrets:
        assert secret not in captured.out + captured.err
        for path in _files_under(cache, prefix, lock_file):
            assert secret.encode() not in path.read_bytes(), "password leaked into %s" % path


def test_wrong_channel_password_is_a_clear_error(private_sources, monkeypatch, auth_channel_server):
    monkeypatch.setenv("METAFLOW_CONDA_SRCS_AUTH_INFO", json.dumps(
        {"127.0.0.1:%d" % _port(auth_channel_server): [auth_channel_server.username, "wrong-pw"]}
    ))
    with pytest.raises(ResolveError, match="Access denied by a Conda channel") as err:
        resolve_environment(EnvSpec(conda_deps=(CondaDep.parse("tinyutil"),)))
    assert "wrong-pw" not in str(err.value)


def test_wrong_index_password_is_a_clear_error(private_sources, pypi_index_server):
    bad = _with_userinfo(pypi_index_server.index_url, pypi_index_server.username, "bad-index-pw")
    with pytest.raises(ResolveError, match="mfenvs-beta") as err:
        resolve_environment(EnvSpec(
            pypi_deps=(PypiDep.parse("mfenvs-beta"),),
            pypi_sources=PypiSources(index_url=bad, no_index=False),
        ))
    assert "bad-index-pw" not in str(err.value)
    assert "401" in str(err.value) or "nauthorized" in str(err.value) or "not found" in str(err.value)


def test_netrc_credentials_for_index(private_sources, monkeypatch, tmp_path, pypi_index_server):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login %s password %s\n" % (pypi_index_server.username, pypi_index_server.password))
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    env = resolve_environment(EnvSpec(
        pypi_deps=(PypiDep.parse("mfenvs-alpha==1.0.0"),),
        pypi_sources=PypiSources(extra_index_urls=(pypi_index_server.index_url,)),
    ))
    assert {p.name: p.version for p in env.pypi_packages()} == {"mfenvs-alpha": "1.0.0"}


def test_a_pure_python_source_is_built_for_another_platform(private_sources, monkeypatch):
    """Built here, the wheel is `py3-none-any`: any target installs it, so it is locked."""
    _, index = private_sources
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    env = resolve_environment(EnvSpec(
        pypi_deps=(PypiDep.parse("mfenvs-sdistonly"),),
        pypi_sources=PypiSources(extra_index_urls=(index,)),
        platform="osx-arm64",
    ))
    (built,) = env.pypi_packages()
    assert built.filename.endswith("-py3-none-any.whl") and built.built_from and built.source_sha256
    assert env.arch == "osx-arm64" and env.python_version.count(".") == 1  # the series, e.g. 3.11
