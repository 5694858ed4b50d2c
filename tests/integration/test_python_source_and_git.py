"""PyPI-only environments on an interpreter of this machine, and git requirements."""
import subprocess
import sys
import platform

from metaflow_extensions.envs.plugins.envs.environments import build_prefix_python
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import python_in
from metaflow_extensions.envs.plugins.envs.kinds import PythonSource
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.plumbing.interpreters import installed_interpreters
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep

import pytest

from .conftest_helpers import run_python


def test_system_python_source(engine_settings, monkeypatch, tmp_path, channel_server):
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    # The channel is unreachable on purpose: nothing may come from Conda.
    monkeypatch.setenv("METAFLOW_CONDA_CHANNEL_ALIAS", "http://127.0.0.1:9/")
    mm = "%s.%s" % sys.version_info[:2]
    env = resolve_environment(EnvSpec(pypi_deps=(PypiDep.parse("six==1.16.0"),), python=mm + ".*"))
    assert env.python_source == PythonSource.SYSTEM and env.python_version == platform.python_version()
    assert [p.name for p in env.packages] == ["six"]
    prefix = create_prefix(env, tmp_path / "env")
    out = run_python(python_in(prefix), "import sys, six; print(sys.prefix, '%d.%d' % sys.version_info[:2], six.__version__)")
    assert out.split() == [str(prefix), mm, "1.16.0"]


def test_system_python_missing_version_is_clear(engine_settings, monkeypatch):
    from metaflow_extensions.envs.plugins.envs.errors import ResolveError

    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    with pytest.raises(ResolveError, match="No Python matching '2.5.\\*' is installed"):
        resolve_environment(EnvSpec(pypi_deps=(PypiDep.parse("six"),), python="2.5.*"))


def test_interpreters_are_found_without_downloading():
    found = installed_interpreters()
    assert platform.python_version() in found


def _git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_git_requirement_is_built_into_a_locked_wheel(engine_settings, tmp_path, local_project_dir):
    repo = local_project_dir
    _git("init", "-q", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "v0.2.0", cwd=repo)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    spec = EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-localdir @ git+%s@%s" % (repo.as_uri(), commit)),))
    env = resolve_environment(spec, build_python=build_prefix_python)
    wheel = next(p for p in env.pypi_packages() if p.name == "mfenvs-localdir")
    assert wheel.filename.endswith(".whl") and commit in wheel.built_from
    prefix = create_prefix(env, tmp_path / "env")
    assert run_python(python_in(prefix), "import mfenvs_localdir; print(mfenvs_localdir.__version__)") == "0.2.0"


def test_bare_resolver_with_conda_python_needs_build_python_to_build(engine_settings, local_project_dir):
    """Making a Conda Python to build with is hydration's work: the resolver does it only
    through the `build_python` its caller hands in, and without one says what to use."""
    from metaflow_extensions.envs.plugins.envs.errors import ResolveError

    (local_project_dir / "UNIQUE").write_text(str(local_project_dir))  # no earlier build of it is cached
    build_envs = engine_settings / "build-envs"
    before = sorted(build_envs.iterdir()) if build_envs.exists() else []
    spec = EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-localdir @ %s" % local_project_dir.as_uri()),))
    with pytest.raises(ResolveError, match=r"resolve with `Environments\(\)\.resolve\(spec\)`.*build_python"):
        resolve_environment(spec)
    assert (sorted(build_envs.iterdir()) if build_envs.exists() else []) == before


def test_interpreter_versions_are_remembered_until_the_binary_changes(monkeypatch, tmp_path):
    """Each interpreter is started once to learn its version; a changed binary is asked again."""
    import os

    from metaflow_extensions.envs.plugins.envs.plumbing import interpreters

    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "python3.99"
    fake.parent.mkdir()

    def install(version: str) -> None:
        fake.write_text("#!/bin/sh\necho x >> %s\necho %s\n" % (calls, version))
        fake.chmod(0o755)

    def lookup() -> str:
        interpreters._version_of.cache_clear()  # a new process would start with empty memory
        interpreters._known_versions.cache_clear()
        return interpreters.version_of(str(fake))

    install("3.99.1")
    assert lookup() == "3.99.1"
    assert lookup() == "3.99.1"
    assert calls.read_text().count("x") == 1  # the second lookup came from the cache file

    install("3.99.20")  # an upgrade in place: new size and mtime
    os.utime(fake, ns=(fake.stat().st_atime_ns, fake.stat().st_mtime_ns + 10**9))
    assert lookup() == "3.99.20"
    assert calls.read_text().count("x") == 2


def test_series_constraints_match_as_rattler_does():
    """`3.11.*` (and `3.11.7.*`, a bare `python=3.11.7`) is matched without loading rattler; it
    must agree with rattler."""
    from rattler import Version, VersionSpec

    from metaflow_extensions.envs.plugins.envs.plumbing.interpreters import _matcher

    versions = ["3.1.2", "3.11.0", "3.11.7", "3.110.1", "3.12.0rc1", "3.12.4", "2.7.18"]
    for constraint in ("3.11.*", "3.1.*", "3.*", "3.12.*", ">=3.11,<3.12", "3.11.7", "3.11.7.*", "3.12.0.*"):
        spec = VersionSpec(constraint)
        assert [v for v in versions if _matcher(constraint)(v)] == [
            v for v in versions if spec.matches(Version(v))], constraint


def test_pypi_only_resolution_on_the_system_python_never_loads_rattler(engine_settings, monkeypatch):
    """rattler's native library takes ~0.04 s to load: a PyPI-only resolution does without it."""
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    code = (
        "import sys\n"
        "from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment\n"
        "from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep\n"
        "env = resolve_environment(EnvSpec(pypi_deps=(PypiDep.parse('six==1.16.0'),), python='%s.%s.*'))\n"
        "print([p.name for p in env.packages], 'rattler' in sys.modules)\n" % sys.version_info[:2]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['six'] False"
