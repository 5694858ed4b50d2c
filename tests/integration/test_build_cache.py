"""Wheels built from sources are built once per (source, target, Python): resolving the same
request again gives the same full_id without building, a changed source is built again, and
a dry run keeps its build like any other run."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.resolve.build import content_sha256
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep, PypiSources
from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex


class UvCalls:
    """uv behind a wrapper logging its subcommand (METAFLOW_ENVS_UV), to count builds."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def builds(self) -> int:
        return self.log.read_text().split().count("build") if self.log.exists() else 0


@pytest.fixture
def fresh(engine_settings, monkeypatch, tmp_path, pypi_index_server):
    """A cache of this test's own, this machine's Python, the local index, and counted uv."""
    from uv import find_uv_bin

    cache = tmp_path / "cache"
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(cache))
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    log, wrapper = tmp_path / "uv-calls", tmp_path / "uv"
    wrapper.write_text('#!/bin/sh\necho "$1" >> "%s"\nexec "%s" "$@"\n' % (log, find_uv_bin()))
    wrapper.chmod(0o755)
    monkeypatch.setenv("METAFLOW_ENVS_UV", str(wrapper))
    return cache, UvCalls(log)


def _spec(pypi_index_server, *requirements):
    python = "%d.%d.*" % sys.version_info[:2]
    return EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in requirements), python=python,
                   pypi_sources=PypiSources(extra_index_urls=(pypi_index_server.index_url_with_credentials,)))


def _resolve(spec, pypi_index_server):
    return resolve_environment(spec, Credentials.from_environment([pypi_index_server.index_url_with_credentials]))


def test_same_request_same_lock_and_built_once(fresh, pypi_index_server, local_project_dir):
    _, uv = fresh
    spec = _spec(pypi_index_server, "mfenvs-sdistonly", "mfenvs-localdir @ %s" % local_project_dir.as_uri())
    first = _resolve(spec, pypi_index_server)
    assert uv.builds() == 2
    second = _resolve(spec, pypi_index_server)
    assert uv.builds() == 2  # nothing built again
    assert second.full_id == first.full_id and second.packages == first.packages

    built = {p.name: p for p in first.pypi_packages()}
    sdist = pypi_index_server.index.files_of("mfenvs-sdistonly")[0]
    assert built["mfenvs-sdistonly"].source_sha256 == hashlib.sha256(sdist.read_bytes()).hexdigest()
    assert built["mfenvs-localdir"].source_sha256 == content_sha256(local_project_dir)
    assert '"source_sha256"' in first.to_json()

    # A changed file is a new source: built again (only it), into a new wheel.
    init = local_project_dir / "mfenvs_localdir" / "__init__.py"
    init.write_text(init.read_text() + "CHANGED = True\n")
    third = _resolve(spec, pypi_index_server)
    assert uv.builds() == 3
    rebuilt = {p.name: p for p in third.pypi_packages()}
    assert rebuilt["mfenvs-localdir"].sha256 != built["mfenvs-localdir"].sha256
    assert rebuilt["mfenvs-sdistonly"] == built["mfenvs-sdistonly"]


def test_git_source_is_built_once_per_commit(fresh, pypi_index_server, local_project_dir):
    _, uv = fresh
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v0.2.0"]):
        subprocess.run(git + args, cwd=local_project_dir, check=True, capture_output=True)
    spec = _spec(pypi_index_server, "mfenvs-localdir @ git+%s" % local_project_dir.as_uri())
    first = _resolve(spec, pypi_index_server)
    second = _resolve(spec, pypi_index_server)
    assert uv.builds() == 1 and second.full_id == first.full_id
    (wheel,) = first.pypi_packages()
    assert len(wheel.source_sha256) == 64 and "@" in wheel.built_from


def test_a_tampered_build_is_not_trusted(fresh, pypi_index_server):
    cache, uv = fresh
    spec = _spec(pypi_index_server, "mfenvs-sdistonly")
    _resolve(spec, pypi_index_server)
    (wheel,) = (cache / "builds").glob("*/*.whl")
    wheel.write_bytes(b"not the wheel that was built")
    again = _resolve(spec, pypi_index_server)
    assert uv.builds() == 2
    (fixed,) = (cache / "builds").glob("*/*.whl")
    assert hashlib.sha256(fixed.read_bytes()).hexdigest() == again.pypi_packages()[0].sha256


def test_a_dry_run_keeps_its_build_for_the_real_run(fresh, pypi_index_server, tmp_path):
    cache, uv = fresh
    envs = Environments(index=LocalIndex(tmp_path / "index"))  # credentials: inline in the spec's index URL
    spec = _spec(pypi_index_server, "mfenvs-sdistonly")
    dry = envs.resolve(spec, dry_run=True)
    assert uv.builds() == 1 and list((cache / "builds").glob("*/*.whl"))

    kept = envs.resolve(spec)
    assert uv.builds() == 1 and list(cache.glob("pkgs/pypi/*/*.whl"))
    assert kept.full_id == dry.full_id
    assert envs.resolve(spec, force=True, dry_run=True).full_id == kept.full_id
    assert uv.builds() == 1
    assert dry.pypi_packages()[0].source_sha256 == kept.pypi_packages()[0].source_sha256
