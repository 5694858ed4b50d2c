"""Resolve and hydrate conda-only, pypi-only and mixed environments end to end.

Conda packages come from the local channel served on 127.0.0.1 (conda-forge is unreachable
here); PyPI packages come from pypi.org, which this machine and CI reach.
"""
import json
import subprocess

import pytest

from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.plan import plan
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import MARKER, python_in
from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep

from .conftest_helpers import run_python


def _spec(conda=(), pypi=(), platform="linux-64", **kw):
    return EnvSpec(
        conda_deps=tuple(CondaDep.parse(c) for c in conda),
        pypi_deps=tuple(PypiDep.parse(p) for p in pypi),
        platform=platform,
        **kw,
    )


def _versions(env, kind):
    return {p.name: p.version for p in env.packages if p.kind == kind}


@pytest.mark.parametrize("platform", ["linux-64", "linux-aarch64", "osx-64", "osx-arm64"])
def test_conda_only_resolves_for_target(engine_settings, platform):
    env = resolve_environment(_spec(conda=["chaina", "nativelib"], platform=platform))
    conda = _versions(env, "conda")
    assert conda["chaina"] == "2.0.0" and conda["chainb"] == "2.1.0" and conda["chainc"] == "0.3.0"
    assert conda["nativelib"] == "1.2.0" and "python" in conda
    native = next(p for p in env.packages if p.name == "nativelib")
    assert native.conda.subdir == platform and platform in native.url
    assert env.env_type == "conda-only" and env.arch == platform
    assert all(len(p.sha256) == 64 and p.url.startswith("http://127.0.0.1") for p in env.packages)


@pytest.mark.parametrize("platform,tag", [("linux-64", "x86_64"), ("linux-aarch64", "aarch64"),
                                          ("osx-64", "x86_64"), ("osx-arm64", "arm64")])
def test_pypi_only_uses_target_wheels(engine_settings, platform, tag):
    env = resolve_environment(_spec(pypi=["charset-normalizer==3.4.2", "idna"], platform=platform))
    assert env.env_type == "pypi-only"
    wheel = next(p for p in env.pypi_packages() if p.name == "charset-normalizer")
    expected = "manylinux" if platform.startswith("linux") else "macosx"
    assert expected in wheel.filename and wheel.filename.endswith(".whl")
    assert tag in wheel.filename or "universal2" in wheel.filename
    assert "cp311" in wheel.filename  # the target's Python (the channel's 3.11), not the host's
    assert [p.name for p in env.conda_packages()] == ["python"]


@pytest.mark.parametrize("platform", ["linux-64", "osx-arm64"])
def test_mixed_never_installs_twice(engine_settings, platform):
    # flask needs itsdangerous, which Conda already provides: it must come from Conda only.
    env = resolve_environment(_spec(conda=["itsdangerous", "tinyutil"], pypi=["flask"], platform=platform))
    assert env.env_type == "mixed"
    assert _versions(env, "conda")["itsdangerous"] == "2.2.0"
    pypi = _versions(env, "pypi")
    assert "flask" in pypi and "itsdangerous" not in pypi and "tinyutil" not in pypi


def test_mixed_contradiction_is_refused(engine_settings):
    from metaflow_extensions.envs.plugins.envs.errors import ResolveError

    with pytest.raises(ResolveError, match="itsdangerous>=3.*contradicts Conda.*2.2.0"):
        resolve_environment(_spec(conda=["itsdangerous"], pypi=["itsdangerous>=3"]))


def test_hydrate_mixed_and_run(engine_settings, tmp_path):
    env = resolve_environment(_spec(conda=["tinyutil=1.1", "ffmpeg"], pypi=["six==1.16.0"]))
    # Only the lock is needed: go through JSON to prove no re-resolution state is used.
    env = ResolvedEnvironment.from_json(env.to_json())
    prefix = create_prefix(env, tmp_path / "env")
    out = run_python(
        python_in(prefix),
        "import sys, tinyutil, six; print(sys.prefix, tinyutil.__version__, six.__version__)",
    )
    assert out.split() == [str(prefix), "1.1.0", "1.16.0"]
    assert subprocess.run([str(prefix / "bin" / "ffmpeg")], capture_output=True, text=True).stdout.startswith(
        "ffmpeg version 6.1.1"
    )
    assert (prefix / MARKER).read_text().strip() == env.full_id


def test_second_creation_hard_links_from_warm_cache(engine_settings, tmp_path):
    env = resolve_environment(_spec(conda=["tinyutil"], pypi=["six==1.16.0"]))
    create_prefix(env, tmp_path / "first")
    assert not plan(env, tmp_path / "second").to_fetch  # everything is cached now
    second = create_prefix(env, tmp_path / "second")
    conda_file = next((second / "lib").glob("python3.*/site-packages/tinyutil/__init__.py"))
    wheel_file = next((second / "lib").glob("python3.*/site-packages/six.py"))
    assert conda_file.stat().st_nlink > 1, "Conda files are hard-linked from rattler's cache"
    assert wheel_file.stat().st_nlink > 1, "wheel files are hard-linked from uv's cache"


def test_interrupted_creation_is_redone(engine_settings, tmp_path):
    env = resolve_environment(_spec(conda=["tinyutil"]))
    prefix = create_prefix(env, tmp_path / "env")
    # Simulate a creation killed midway: files present, marker absent.
    (prefix / MARKER).unlink()
    (prefix / "bin" / "python").unlink()
    assert not plan(env, prefix).already_complete
    create_prefix(env, prefix)
    assert run_python(python_in(prefix), "import tinyutil; print(tinyutil.__version__)") == "2.0.0"


def test_lock_json_has_everything_per_package(engine_settings):
    env = resolve_environment(_spec(conda=["tinyutil"], pypi=["six"]))
    data = json.loads(env.to_json())
    assert data["type"] == "mixed" and data["python"].startswith("3.11")
    assert data["env_id"]["full_id"] == env.full_id and data["env_id"]["arch"] == "linux-64"
    for pkg in data["packages"]:
        assert {"kind", "name", "version", "build", "filename", "url", "sha256", "size"} <= set(pkg)
