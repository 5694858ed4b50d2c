"""Lock files as input (uv.lock, pylock.toml): the PyPI part of the environment is exactly the
lock, for the TARGET's markers and tags, with no index asked. A real uv project is locked
against an index of the test's own, which then gains a newer version."""
from dataclasses import replace

import pytest

from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.lockfiles import spec_from_pylock, spec_from_uv_project
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep
from tests.fixtures.lock_projects import (  # noqa: F401 (lock_index: a fixture)
    ALPHA_1, ALPHA_2, DARWIN, GAMMA, PYPROJECT, lock_index, lock_project, sha256_of, wheel_entry, write_pylock,
)
from tests.fixtures.pypi_index import publish


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


def test_a_pylock_is_taken_as_locked(engine_settings, lock_index, tmp_path):
    """gamma's dependency alpha is not in this lock: it is not added."""
    path = write_pylock(tmp_path, lock_index, wheel_entry(lock_index, GAMMA))
    mark = lock_index.mark()
    env = resolve_environment(spec_from_pylock(path).for_platform("linux-64"))
    assert pypi_of(env) == {"lk-gamma": ("1.0.0", sha256_of(lock_index, GAMMA))}
    assert lock_index.requests_since(mark) == []


def test_packages_lacking_a_file_for_the_target_are_named_in_one_message(engine_settings, lock_index, tmp_path):
    mac_only = "lk_darwin-1.0.0-cp311-cp311-macosx_11_0_arm64.whl"
    path = write_pylock(tmp_path, lock_index, wheel_entry(lock_index, GAMMA) + wheel_entry(lock_index, DARWIN, mac_only)
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
    path = write_pylock(tmp_path, lock_index, wheel_entry(lock_index, GAMMA), requires_python=">=3.12")
    with pytest.raises(ResolveError, match=r"requires Python >=3\.12, but the environment has Python 3\.11"):
        resolve_environment(spec_from_pylock(path).for_platform("linux-64"))


def test_conda_and_a_lock_make_a_mixed_environment(engine_settings, lock_index, tmp_path):
    spec = spec_from_uv_project(lock_project(tmp_path / "project", lock_index.url + "/simple"))
    env = resolve_environment(replace(spec, conda_deps=(CondaDep.parse("tinyutil"),)))
    assert env.env_type == "mixed"
    assert "tinyutil" in {p.name for p in env.conda_packages()}
    assert pypi_of(env) == {"lk-alpha": ("1.0.0", sha256_of(lock_index, ALPHA_1)),
                            "lk-gamma": ("1.0.0", sha256_of(lock_index, GAMMA))}


def test_a_file_whose_sha256_is_not_the_locks_is_refused_at_create(engine_settings, lock_index, tmp_path):
    """The index serves other bytes than were locked: nothing of them is installed."""
    from metaflow_extensions.envs.plugins.envs.environments import Environments
    from metaflow_extensions.envs.plugins.envs.errors import EnvError
    from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
    from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

    env = resolve_environment(spec_from_pylock(write_pylock(tmp_path, lock_index, wheel_entry(lock_index, GAMMA))))
    locked = sha256_of(lock_index, GAMMA)
    (lock_index.root / "files" / GAMMA.wheel_filename).write_bytes(b"tampered")
    envs = Environments(index=LocalIndex(tmp_path / "local-index"), cache=PackageCache(tmp_path / "pkgs"))
    with pytest.raises(EnvError, match=r"Checksum mismatch for .*%s: expected sha256 %s"
                                       % (GAMMA.wheel_filename, locked)):
        envs.create(env, prefix=tmp_path / "prefix")
    assert not (tmp_path / "prefix").exists()
    assert not list((tmp_path / "pkgs").rglob(GAMMA.wheel_filename))
