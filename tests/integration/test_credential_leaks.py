"""Credentials go only where they belong: to their own origin (not across redirects), never
onto a command line, never into a file or output; and each environment has its own."""
import hashlib
import json
import os
import shutil
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.environments import Environments, build_prefix_python
from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.plumbing.download import fetch_url
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import python_in
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep, PypiSources
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore
from tests.fixtures.servers import StaticFileServer

from .conftest_helpers import run_python

ARCHIVES = (".conda", ".tar.bz2", ".whl")


def _host(server: StaticFileServer) -> str:
    return "127.0.0.1:%d" % server.port


def _inline(server: StaticFileServer, path: str, password: str = "") -> str:
    return "http://%s:%s@%s%s" % (server.username, password or server.password, _host(server), path)


def _redirecting(root: Path, auth: Tuple[str, str], target: StaticFileServer) -> StaticFileServer:
    """`root` behind basic auth, sending every package download on to `target` (a CDN)."""
    return StaticFileServer(root, auth=auth, redirect=lambda path: target.url + path if path.endswith(ARCHIVES) else None)


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(cache))
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "conda")
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", "conda-forge")
    monkeypatch.delenv("METAFLOW_CONDA_SRCS_AUTH_INFO", raising=False)
    return cache


# ---- redirects -------------------------------------------------------------------------
def test_redirect_to_another_origin_gets_no_credentials(fresh_cache, monkeypatch, tmp_path, conda_channels_dir,
                                                        pypi_index):
    with ExitStack() as stack:
        conda_cdn = stack.enter_context(StaticFileServer(conda_channels_dir))
        pypi_cdn = stack.enter_context(StaticFileServer(pypi_index.root))
        channel = stack.enter_context(_redirecting(conda_channels_dir, ("cu", "conda-redirect-pw"), conda_cdn))
        index = stack.enter_context(_redirecting(pypi_index.root, ("pu", "pypi-redirect-pw"), pypi_cdn))
        monkeypatch.setenv("METAFLOW_CONDA_CHANNEL_ALIAS", channel.url + "/")
        monkeypatch.setenv("METAFLOW_CONDA_SRCS_AUTH_INFO", json.dumps({_host(channel): list(channel.auth)}))
        spec = EnvSpec(conda_deps=(CondaDep.parse("tinyutil"),), pypi_deps=(PypiDep.parse("mfenvs-alpha==1.0.0"),),
                       pypi_sources=PypiSources(extra_index_urls=(_inline(index, "/simple"),)))
        credentials = Credentials.from_environment([_inline(index, "/simple")])
        env = resolve_environment(spec, credentials, PackageCache(tmp_path / "resolve-cache"))
        seen = {server: server.mark() for server in (conda_cdn, pypi_cdn)}  # from here on, only our downloads

        prefix = create_prefix(env, tmp_path / "prefix", credentials)

        assert run_python(python_in(prefix), "import tinyutil, mfenvs_alpha; print('ok')") == "ok"
        for cdn in (conda_cdn, pypi_cdn):
            downloads = [r for r in cdn.requests_since(seen[cdn]) if r.path.endswith(ARCHIVES)]
            assert downloads and all(r.status == 200 for r in downloads)
            assert not any(r.has_auth for r in downloads), "credentials were forwarded to %s" % cdn.url


def _wheel(pypi_index) -> Tuple[str, str]:
    """Path (on the index server) and sha256 of one wheel of the test index."""
    path = next(Path(pypi_index.root, "files").glob("*.whl"))
    return "/files/" + path.name, hashlib.sha256(path.read_bytes()).hexdigest()


def test_redirect_within_the_origin_keeps_credentials(tmp_path, pypi_index):
    path, sha256 = _wheel(pypi_index)
    moved = lambda p: p[len("/moved"):] if p.startswith("/moved/") else None  # noqa: E731
    with StaticFileServer(pypi_index.root, auth=("u", "same-origin-pw"), redirect=moved) as server:
        fetch_url(_inline(server, "/moved" + path), tmp_path / "a.whl", Credentials(), expected_sha256=sha256)
        assert [r.status for r in server.requests] == [302, 200]


def test_redirect_target_gets_its_own_credentials(tmp_path, pypi_index):
    path, sha256 = _wheel(pypi_index)
    with StaticFileServer(pypi_index.root, auth=("cdn-user", "cdn-pw")) as cdn, \
            _redirecting(pypi_index.root, ("index-user", "index-pw"), cdn) as index:
        credentials = Credentials({_host(index): ("index-user", "index-pw"), _host(cdn): ("cdn-user", "cdn-pw")})
        fetch_url(index.url + path, tmp_path / "a.whl", credentials, expected_sha256=sha256)
        assert [(r.status, r.user) for r in cdn.requests] == [(200, "cdn-user")]


# ---- command lines ---------------------------------------------------------------------
@pytest.fixture
def plain_channel(fresh_cache, monkeypatch, channel_server) -> Path:
    monkeypatch.setenv("METAFLOW_CONDA_CHANNEL_ALIAS", channel_server.url + "/")
    return fresh_cache


def _recording(path: Path, real: str, log: Path) -> str:
    """A stand-in for `real` that appends its command line to `log`, then runs `real`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> "%s"\nexec "%s" "$@"\n' % (log, real))
    path.chmod(0o755)
    return str(path)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def _git_repo_over_http(project: Path, served: Path) -> Path:
    """`project` committed and published as `served/repo.git` for git's dumb HTTP protocol
    (plain files: a static server with basic auth is a private git host)."""
    _git("init", "-q", cwd=project)
    _git("add", "-A", cwd=project)
    _git("commit", "-qm", "v0.2.0", cwd=project)
    served.mkdir()
    _git("clone", "-q", "--bare", str(project), str(served / "repo.git"), cwd=served)
    _git("update-server-info", cwd=served / "repo.git")
    return served


def test_no_credential_on_any_command_line(plain_channel, monkeypatch, tmp_path, pypi_index, local_project_dir):
    from uv import find_uv_bin

    log = tmp_path / "argv.log"
    monkeypatch.setenv("METAFLOW_ENVS_UV", _recording(tmp_path / "uv-wrapper", find_uv_bin(), log))
    # uv runs git for git requirements too: every git command, ours and uv's, is recorded.
    _recording(tmp_path / "bin" / "git", shutil.which("git"), log)
    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path / "bin", os.environ["PATH"]))
    served = _git_repo_over_http(local_project_dir, tmp_path / "git")
    with StaticFileServer(pypi_index.root, auth=("links-user", "links-pw")) as links, \
            StaticFileServer(served, auth=("git-user", "git-pw")) as git_host:
        found = resolve_environment(EnvSpec(
            pypi_deps=(PypiDep.parse("mfenvs-alpha==1.0.0"),),
            pypi_sources=PypiSources(find_links=(_inline(links, "/simple/mfenvs-alpha/"),), no_index=True),
        ))
        built = resolve_environment(EnvSpec(pypi_deps=(
            PypiDep.parse("mfenvs-localdir @ git+%s" % _inline(git_host, "/repo.git")),)),
            build_python=build_prefix_python)

        # Resolved through the authenticated sources: credentials were honoured.
        assert [p.version for p in found.pypi_packages()] == ["1.0.0"]
        assert any(r.user == "links-user" and r.status == 200 for r in links.requests)
        assert next(p for p in built.pypi_packages() if p.name == "mfenvs-localdir").built_from
        assert any(r.user == "git-user" and r.status == 200 for r in git_host.requests)
    lines = log.read_text().splitlines()
    assert any("pip compile" in line for line in lines) and any(line.startswith("clone ") for line in lines)
    for line in lines:
        assert "links-pw" not in line and "git-pw" not in line, "a password on a command line: %s" % line


# ---- per-environment credentials -------------------------------------------------------
def test_each_environment_uses_its_own_credentials(plain_channel, tmp_path, pypi_index, pypi_index_server):
    """As in a flow: one Environments object resolves, publishes and creates environments
    on two private indexes, each with its own inline credentials."""
    with StaticFileServer(pypi_index.root, auth=("second-user", "second-pw")) as second:
        specs = {
            "mfenvs_alpha": EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-alpha==1.0.0"),), pypi_sources=PypiSources(
                extra_index_urls=(_inline(pypi_index_server.server, "/simple"),))),
            "mfenvs_beta": EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-beta"),), pypi_sources=PypiSources(
                extra_index_urls=(_inline(second, "/simple"),))),
        }
        envs = Environments(store=EnvStore("local", str(tmp_path / "store")))
        resolved = {module: envs.resolve(spec) for module, spec in specs.items()}
        for module, env in resolved.items():
            # Without the wheels in the cache (as after `gc`), publishing fetches them again.
            shutil.rmtree(plain_channel / "pkgs" / "pypi", ignore_errors=True)
            envs.publish(env)
        for module, env in resolved.items():
            shutil.rmtree(plain_channel / "pkgs" / "pypi", ignore_errors=True)
            python = python_in(Environments().create(env, tmp_path / module))  # no store: from the index
            assert run_python(python, "import %s; print('ok')" % module) == "ok"
        assert {r.user for r in second.requests if r.path.endswith(".whl") and r.status == 200} == {"second-user"}
