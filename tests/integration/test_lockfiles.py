"""Lock files as input (uv.lock, pylock.toml): the PyPI part of the environment is exactly the
lock, for the TARGET's markers and tags, with no index asked. A real uv project is locked
against an index of the test's own, which then gains a newer version."""
import hashlib
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.plumbing.uv import uv_binary
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.lockfiles import spec_from_pylock, spec_from_uv_project
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep
from tests.fixtures.pypi_index import PyProject, publish
from tests.fixtures.servers import StaticFileServer

ALPHA_1 = PyProject("lk-alpha", "1.0.0", "lk_alpha")
ALPHA_2 = PyProject("lk-alpha", "2.0.0", "lk_alpha")
GAMMA = PyProject("lk-gamma", "1.0.0", "lk_gamma", requires=("lk-alpha>=1",))
DARWIN = PyProject("lk-darwin", "1.0.0", "lk_darwin")

PYPROJECT = """[project]
name = "lockdemo"
version = "0.1"
requires-python = ">=3.9"
dependencies = ["lk-gamma", "lk-darwin; sys_platform == 'darwin'"]
"""


@pytest.fixture
def lock_index(tmp_path):
    """An index of the test's own: lk-alpha 1.0.0 only, until the test publishes 2.0.0."""
    root = tmp_path / "index"
    publish(root, [ALPHA_1, GAMMA, DARWIN])
    with StaticFileServer(root) as server:
        server.root = root
        yield server


def sha256_of(server, project: PyProject) -> str:
    return hashlib.sha256((server.root / "files" / project.wheel_filename).read_bytes()).hexdigest()


def lock_project(directory: Path, index_url: str, pyproject: str = PYPROJECT) -> Path:
    """`uv lock` a project in `directory` against `index_url` (what a user does)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(pyproject)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", UV_CACHE_DIR=str(directory.parent / "uv-cache"))
    subprocess.run([uv_binary(), "lock", "--quiet", "--index-url", index_url], cwd=str(directory), env=env,
                   check=True, capture_output=True, text=True)
    return directory


def pypi_of(env):
    return {p.name: (p.version, p.sha256) for p in env.pypi_packages()}


def test_a_uv_lock_gives_exactly_its_versions_without_asking_the_index(engine_settings, lock_index, tmp_path):
    project = lock_project(tmp_path / "project", lock_index.url + "/simple")
    publish(lock_index.root, [ALPHA_1, ALPHA_2])  # a newer dependency appears after locking
    mark = lock_index.mark()
    env = resolve_environment(spec_from_uv_project(project).for_platform("linux-64"))
    assert pypi_of(env) == {"lk-alpha": ("1.0.0", sha256_of(lock_index, ALPHA_1)),
                            "lk-gamma": ("1.0.0", sha256_of(lock_index, GAMMA))}
    assert lock_index.requests_since(mark) == []  # no index page, no file: all came from the lock


def test_markers_are_those_of_the_target(engine_settings, lock_index, tmp_path):
    spec = spec_from_uv_project(lock_project(tmp_path / "project", lock_index.url + "/simple"))
    assert "lk-darwin" not in pypi_of(resolve_environment(spec.for_platform("linux-64")))
    on_mac = pypi_of(resolve_environment(spec.for_platform("osx-arm64")))
    assert on_mac["lk-darwin"] == ("1.0.0", sha256_of(lock_index, DARWIN))


def test_extras_and_groups_select_what_the_uv_lock_gives(engine_settings, lock_index, tmp_path):
    pyproject = PYPROJECT + '[project.optional-dependencies]\nmac = ["lk-darwin"]\n' \
                            '[dependency-groups]\nlint = ["lk-alpha"]\n'
    pyproject = pyproject.replace(', "lk-darwin; sys_platform == \'darwin\'"', "").replace('"lk-gamma"', "")
    project = lock_project(tmp_path / "project", lock_index.url + "/simple", pyproject)
    assert spec_from_uv_project(project).pypi_locked.entries == ()
    names = lambda spec: sorted(e.name for e in spec.pypi_locked.entries)  # noqa: E731
    assert names(spec_from_uv_project(project, extras=["mac"])) == ["lk-darwin"]
    assert names(spec_from_uv_project(project, groups=["lint"])) == ["lk-alpha"]


def _pylock(tmp_path, server, packages: str, requires_python: str = ">=3.9") -> Path:
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = "hand"\nrequires-python = "%s"\n%s'
                    % (requires_python, packages.replace("URL", server.url + "/files")))
    return path


def _wheel_entry(server, project: PyProject, filename: str = "", marker: str = "") -> str:
    return ('[[packages]]\nname = "%s"\nversion = "%s"\n%swheels = [{ url = "URL/%s", hashes = { sha256 = "%s" } }]\n'
            % (project.name, project.version, 'marker = "%s"\n' % marker if marker else "",
               filename or project.wheel_filename, sha256_of(server, project)))


def test_a_pylock_is_taken_as_locked(engine_settings, lock_index, tmp_path):
    """gamma's dependency alpha is not in this lock: it is not added."""
    path = _pylock(tmp_path, lock_index, _wheel_entry(lock_index, GAMMA))
    mark = lock_index.mark()
    env = resolve_environment(spec_from_pylock(path).for_platform("linux-64"))
    assert pypi_of(env) == {"lk-gamma": ("1.0.0", sha256_of(lock_index, GAMMA))}
    assert lock_index.requests_since(mark) == []


def test_packages_lacking_a_file_for_the_target_are_named_in_one_message(engine_settings, lock_index, tmp_path):
    mac_only = "lk_darwin-1.0.0-cp311-cp311-macosx_11_0_arm64.whl"
    path = _pylock(tmp_path, lock_index, _wheel_entry(lock_index, GAMMA) + _wheel_entry(lock_index, DARWIN, mac_only)
                   + '[[packages]]\nname = "lk-src"\nversion = "0.1"\n'
                     'sdist = { url = "URL/lk_src-0.1.tar.gz", hashes = { sha256 = "%s" } }\n' % ("a" * 64))
    spec = spec_from_pylock(path)
    with pytest.raises(ResolveError) as err:
        resolve_environment(spec.for_platform("linux-64"))
    message = str(err.value)
    assert message.startswith("%s has no wheel for linux-64 (Python 3.11" % path)
    assert "lk-darwin==1.0.0 (wheels for other platforms only), lk-src==0.1 (a source distribution only)" in message
    assert "lk-gamma" not in message


def test_the_lock_requires_python_must_admit_the_environment_python(engine_settings, lock_index, tmp_path):
    path = _pylock(tmp_path, lock_index, _wheel_entry(lock_index, GAMMA), requires_python=">=3.12")
    with pytest.raises(ResolveError, match=r"requires Python >=3\.12, but the environment has Python 3\.11"):
        resolve_environment(spec_from_pylock(path).for_platform("linux-64"))


def test_conda_and_a_lock_make_a_mixed_environment(engine_settings, lock_index, tmp_path):
    spec = spec_from_uv_project(lock_project(tmp_path / "project", lock_index.url + "/simple"))
    env = resolve_environment(replace(spec, conda_deps=(CondaDep.parse("tinyutil"),)))
    assert env.env_type == "mixed"
    assert "tinyutil" in {p.name for p in env.conda_packages()}
    assert pypi_of(env) == {"lk-alpha": ("1.0.0", sha256_of(lock_index, ALPHA_1)),
                            "lk-gamma": ("1.0.0", sha256_of(lock_index, GAMMA))}
