"""Wheels that fit the target, or a message saying why not: a release whose macOS wheels need a
newer macOS than the target's names the version that would take one, and a wheel built here
for this machine only is not locked without a note."""
import os
import subprocess

import pytest

from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.plumbing.uv import uv_binary
from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform, platform_info, sys_packages_for
from metaflow_extensions.envs.plugins.envs.resolve.pypi import host_only_build_notes
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep, PypiSources
from tests.fixtures.native_index import build_macos_probe_links, build_native_index, macos_probe
from tests.fixtures.servers import StaticFileServer


@pytest.fixture
def native_index(tmp_path):
    with StaticFileServer(build_native_index(tmp_path / "index")) as server:
        yield server.url + "/simple/"


def _resolve(index: str, requirement: str, platform: str):
    # PyPI stays the default index: building an sdist needs setuptools.
    return resolve_environment(EnvSpec(
        pypi_deps=(PypiDep.parse(requirement),),
        pypi_sources=PypiSources(extra_index_urls=(index,)),
        platform=platform,
    ))


@pytest.fixture
def system_python(engine_settings, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    monkeypatch.delenv("METAFLOW_CONDA_OSX_VERSION", raising=False)


def test_wheels_for_a_newer_macos_name_the_version_to_set(system_python, native_index, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_OSX_VERSION", "11.0")
    with pytest.raises(ResolveError) as err:
        _resolve(native_index, "mfenvs-macnative==1.0.0", "osx-arm64")
    message = str(err.value)
    assert "has wheels for macOS 12.0 and newer only" in message
    assert "targets macOS 11.0 (osx-arm64)" in message
    assert "METAFLOW_CONDA_OSX_VERSION=12.0" in message


@pytest.mark.parametrize("subdir, uv_platform, machine",
                         [("osx-arm64", "aarch64-apple-darwin", "arm64"), ("osx-64", "x86_64-apple-darwin", "x86_64")])
def test_the_default_macos_is_the_one_uv_assumes(system_python, tmp_path, monkeypatch, subdir, uv_platform, machine):
    """Left empty (or unset), METAFLOW_CONDA_OSX_VERSION is what the installed uv assumes for the
    platform without MACOSX_DEPLOYMENT_TARGET: the newest probe release it takes names that macOS."""
    # empty, not unset: Metaflow's configuration keeps what the environment held when first imported
    monkeypatch.setenv("METAFLOW_CONDA_OSX_VERSION", "")
    links = build_macos_probe_links(tmp_path / "links")
    (tmp_path / "probe.in").write_text(macos_probe(machine).name + "\n")
    env = {k: v for k, v in os.environ.items() if k != "MACOSX_DEPLOYMENT_TARGET"}
    out = subprocess.run([uv_binary(), "pip", "compile", "probe.in", "--no-config", "--no-index", "--find-links",
                          str(links), "--python-platform", uv_platform, "--python-version", "3.11", "--quiet",
                          "--no-header", "--no-annotate"],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "%s==%s" % (macos_probe(machine).name, platform_info(subdir).system_version)
    assert ("__osx", platform_info(subdir).system_version) in sys_packages_for(subdir, ())


@pytest.mark.parametrize("osx, tag", [("12.0", "macosx_12_0_arm64"), ("15.0", "macosx_14_0_arm64")])
def test_with_that_version_set_the_wheel_is_locked(system_python, native_index, monkeypatch, osx, tag):
    monkeypatch.setenv("METAFLOW_CONDA_OSX_VERSION", osx)
    (pkg,) = _resolve(native_index, "mfenvs-macnative==1.0.0", "osx-arm64").pypi_packages()
    assert pkg.filename.endswith("-%s.whl" % tag) and pkg.built_from is None


@pytest.mark.skipif(host_platform() != "linux-64", reason="the host build's tag is this machine's")
def test_a_build_for_this_machine_only_comes_with_a_note(system_python, native_index):
    env = _resolve(native_index, "mfenvs-hostbuilt==1.0.0", "linux-64")
    (pkg,) = env.pypi_packages()
    assert pkg.built_from and pkg.filename.endswith("-linux_x86_64.whl")
    (note,) = host_only_build_notes(env)
    assert "'mfenvs-hostbuilt' 1.0.0 was built here from source as %s" % pkg.filename in note
    assert "targets linux-64 manylinux wheels for glibc 2.28 (METAFLOW_CONDA_GLIBC_VERSION)" in note


def test_a_portable_build_has_no_note(system_python, pypi_index_server):
    env = _resolve(pypi_index_server.index_url_with_credentials, "mfenvs-sdistonly", host_platform())
    assert env.pypi_packages()[0].built_from and host_only_build_notes(env) == []
