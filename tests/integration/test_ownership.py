"""Never destroy what we did not create: a prefix is removed or re-created only when it
carries our ownership marker; every refusal happens before anything is touched; stale
temp files of stopped processes are cleaned, those of running ones never.

Everything here happens under tmp_path: HOME and the cache root are pointed there, and the
filesystem root is only ever given to the pure check, never to code that writes.
"""
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.cli.gc import collect
from metaflow_extensions.envs.plugins.envs.errors import HydrateError, SpecError
from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.plumbing.download import fetch_url
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import (
    ENV_ID_FILE, MARKER, OWNER_MARKER, check_target, owns, refusal, remove_owned)
from metaflow_extensions.envs.plugins.envs.lock import CondaRecordInfo, LockedPackage, ResolvedEnvironment
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec

HOUR = 3600.0


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """HOME and the cache root inside tmp_path (the cache's parent `tmp_path/data` stays empty)."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "data" / "cache"))
    return tmp_path


def _env(*pkgs, channels=()) -> ResolvedEnvironment:
    """No packages: creating it writes only our markers (no server, no interpreter needed)."""
    return ResolvedEnvironment(spec=EnvSpec(channels=tuple(channels)), packages=tuple(pkgs), python_version="3.11.7")


def _create(prefix: Path, env: ResolvedEnvironment = None, **kwargs) -> Path:
    return create_prefix(env or _env(), prefix, cache=PackageCache(prefix.parent / "pkgs-cache"),
                         credentials=Credentials(), **kwargs)


def _project(path: Path) -> Path:
    path.mkdir()
    (path / "main.py").write_text("print('mine')\n")
    (path / "src").mkdir()
    (path / "src" / "lib.py").write_text("x = 1\n")
    return path


def _tree(path: Path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_the_filesystem_root_is_refused_by_the_pure_check():
    # Only the check: nothing that could write is ever given "/".
    for root in ("/", "/tmp/..", "//"):
        assert "it is the filesystem root" in refusal(Path(root))
        with pytest.raises(HydrateError, match="Refusing to create an environment at .*: it is the filesystem root"):
            check_target(Path(root))


def test_a_foreign_project_is_refused_and_survives(sandbox):
    project = _project(sandbox / "project")
    before = _tree(project)
    for force in (False, True):
        with pytest.raises(HydrateError) as err:
            _create(project, force=force)
        assert str(err.value) == (
            "Refusing to create an environment at %s: it is a non-empty directory that metaflow-envs did not "
            "create. Choose an empty or new directory, or remove it yourself." % project)
        assert _tree(project) == before and not (sandbox / "project.lock").exists()
    with pytest.raises(HydrateError, match="did not create it"):
        remove_owned(project)
    assert _tree(project) == before


@pytest.mark.parametrize("where, why", [
    ("home", "it is your home directory"),
    ("data", "it holds the metaflow-envs cache"),
    ("data/cache", "it holds the metaflow-envs cache"),
    ("file.txt", "it is a file"),
    ("link", "it is a symbolic link"),
])
def test_forbidden_targets_are_refused_before_anything_is_touched(sandbox, where, why):
    (sandbox / "file.txt").write_text("keep me\n")
    (sandbox / "elsewhere").mkdir()
    (sandbox / "link").symlink_to(sandbox / "elsewhere")
    target = sandbox / where
    before = _tree(sandbox)
    with pytest.raises(HydrateError, match="Refusing to create an environment at %s: %s" % (target, why)):
        _create(target)
    assert _tree(sandbox) == before  # no marker, no lock file, no cache, nothing
    assert (sandbox / "file.txt").read_text() == "keep me\n"


def test_new_and_empty_directories_become_ours(sandbox):
    new = _create(sandbox / "a" / "new")
    empty = sandbox / "empty"
    empty.mkdir()
    _create(empty)
    for prefix in (new, empty):
        assert owns(prefix) and (prefix / OWNER_MARKER).is_file() and (prefix / MARKER).is_file()


def test_an_interrupted_creation_is_redone(sandbox):
    prefix = sandbox / "env"
    prefix.mkdir()
    (prefix / OWNER_MARKER).write_text("")  # creation started, never finished
    (prefix / "half-written").write_text("x")
    _create(prefix)
    assert sorted(p.name for p in prefix.iterdir()) == sorted([OWNER_MARKER, ENV_ID_FILE, MARKER])


def test_force_recreates_our_prefix_and_prefixes_of_earlier_versions(sandbox):
    prefix = _create(sandbox / "env")
    (prefix / "stale").write_text("x")
    _create(prefix, force=True)
    assert not (prefix / "stale").exists() and (prefix / MARKER).is_file()
    # Made by an earlier version: only the completion marker (holding a full_id) proves it.
    legacy = sandbox / "legacy"
    legacy.mkdir()
    (legacy / MARKER).write_text("0" * 40 + "\n")
    (legacy / "bin").mkdir()
    _create(legacy, force=True)
    assert not (legacy / "bin").exists() and (legacy / OWNER_MARKER).is_file()
    # A marker that holds no full_id proves nothing.
    (sandbox / "fake").mkdir()
    (sandbox / "fake" / MARKER).write_text("hello\n")
    assert not owns(sandbox / "fake")


def _bad_archive(tmp_path: Path) -> LockedPackage:
    archive = tmp_path / "broken-1.0-0.tar.bz2"
    archive.write_bytes(b"not an archive")
    return LockedPackage("conda", "broken", "1.0", "0", archive.name, archive.as_uri(),
                         hashlib.sha256(archive.read_bytes()).hexdigest(), size=14,
                         conda=CondaRecordInfo(subdir="noarch"))


def test_a_failed_creation_removes_only_what_it_made(sandbox):
    env = _env(_bad_archive(sandbox), channels=[str(sandbox)])  # a local channel of the user's
    with pytest.raises(HydrateError, match="not a valid archive"):
        _create(sandbox / "new", env)
    assert not (sandbox / "new").exists()
    handed = sandbox / "handed"
    handed.mkdir()
    with pytest.raises(HydrateError, match="not a valid archive"):
        _create(handed, env)
    assert handed.is_dir() and list(handed.iterdir()) == []  # the user's empty directory stays


def test_gc_refuses_days_that_are_not_finite_numbers(sandbox):
    from metaflow_extensions.envs.plugins.envs.environments import Environments

    for days in (float("nan"), float("inf"), -1.0):
        with pytest.raises(SpecError, match="--older-than must be a number of days >= 0"):
            collect(Environments(), days, dry_run=False)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def _partial(directory: Path, pid: int, age: float) -> Path:
    path = directory / (".partial-%d-%s" % (pid, os.urandom(4).hex()))
    path.write_bytes(b"half")
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_stale_partials_are_removed_by_the_next_fetch_into_their_dir(sandbox):
    source = sandbox / "pkg-1.0.tar.bz2"
    source.write_bytes(b"payload")
    sha = hashlib.sha256(b"payload").hexdigest()
    cache = PackageCache(sandbox / "pkgs")
    dest = cache.path("conda", sha, source.name)
    dest.parent.mkdir(parents=True)
    dead = _partial(dest.parent, _dead_pid(), HOUR)
    ancient = dest.parent / ".partial-legacy"  # no pid: stale after a day only
    ancient.write_bytes(b"x")
    os.utime(ancient, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    live = _partial(dest.parent, os.getpid(), HOUR)  # this process is running
    fresh_dead = _partial(dest.parent, _dead_pid(), 10)  # maybe a writer on another host
    fetch_url(source.as_uri(), dest, Credentials(), expected_sha256=sha, local_sources=[source.parent])
    assert dest.read_bytes() == b"payload"
    assert not dead.exists() and not ancient.exists()
    assert live.exists() and fresh_dead.exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted([dest.name, live.name, fresh_dead.name])


def test_gc_removes_build_cache_entries_no_one_used_recently(sandbox):
    from metaflow_extensions.envs.plugins.envs.environments import Environments
    from metaflow_extensions.envs.plugins.envs.resolve.build import BuildCache

    root = BuildCache().root
    entries = {}
    for name, record in (("old", True), ("fresh", True), ("foreign", False)):
        entry = root / name
        entry.mkdir(parents=True)
        (entry / "pkg-1.0-py3-none-any.whl").write_bytes(b"wheel")
        if record:
            (entry / "build.json").write_text("{}")
        entries[name] = entry
    old = time.time() - 10 * 86400
    for entry in (entries["old"], entries["foreign"]):
        for path in [*entry.iterdir(), entry]:  # the folder last: listing it touches its access time
            os.utime(path, (old, old))

    report = collect(Environments(), 1, dry_run=True)
    assert [item.path for item in report.builds] == [entries["old"]] and entries["old"].is_dir()
    collect(Environments(), 1, dry_run=False)
    assert not entries["old"].exists()
    assert entries["fresh"].is_dir() and entries["foreign"].is_dir()  # recent, or not ours


def _nobody_owns(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user (os.chown) needs root")
    os.chown(path, 65534, 65534)


@pytest.mark.parametrize("foreign", ["owner", "mode"])
def test_a_directory_another_user_owns_or_can_write_is_refused(sandbox, foreign):
    """As a /tmp/myenv made first by someone else: its owner could replace the interpreter."""
    from metaflow_extensions.envs.plugins.envs.cli.code_package import check_into_dir

    target = sandbox / "myenv"
    target.mkdir()
    if foreign == "owner":
        target.chmod(0o755)
        _nobody_owns(target)
        why = r"it belongs to another user \(owner [^,]*,? ?uid 65534, mode 0755\)"
    else:
        target.chmod(0o777)
        why = r"it can be written to by other users \(owner [^,]*, uid %d, mode 0777\)" % os.geteuid()
    before = _tree(sandbox)
    with pytest.raises(HydrateError, match="Refusing to create an environment at %s: %s, who could replace what is "
                       "installed there. Choose a directory of your own" % (target, why)):
        _create(target, force=True)
    with pytest.raises(SpecError, match="Refusing --into-dir %s: %s" % (target, why)):
        check_into_dir(target, force=True)
    assert _tree(sandbox) == before and not (sandbox / "myenv.lock").exists()


def test_a_parent_others_can_write_is_refused_unless_sticky(sandbox):
    shared = sandbox / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may rename what is in it
    with pytest.raises(HydrateError, match=r"its parent directory %s can be written to by other users \(owner .*mode "
                       r"0777\), who could replace it" % shared):
        _create(shared / "env")
    assert list(shared.iterdir()) == []
    # With the sticky bit (as /tmp has), only an entry's owner may rename or remove it.
    shared.chmod(0o1777)
    prefix = _create(shared / "deeper" / "env")
    assert owns(prefix) and (prefix / MARKER).is_file()
    for made in (prefix, prefix.parent):  # made by us: writable by no one else
        assert os.stat(made).st_mode & 0o022 == 0


def test_into_dir_force_replaces_only_what_it_wrote(sandbox):
    from metaflow_extensions.envs.plugins.envs.cli import code_package

    into = sandbox / "work"
    code_package.prepare_dir(into, force=False)
    code_package.link_python(into, sandbox / "env" / "bin" / "python")
    added = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt"]
    for name in added:
        (into / name).write_text("mine\n")
    before = _tree(into)
    expected = ("Refusing to replace the content of %s: it holds 7 entries that metaflow-envs did not write there "
                "(a.txt, b.txt, c.txt, d.txt, e.txt and 2 more). Move them elsewhere or remove them yourself, or "
                "choose another directory." % into)
    with pytest.raises(HydrateError) as err:
        code_package.check_into_dir(into, force=True)
    assert str(err.value) == expected
    with pytest.raises(HydrateError) as err:  # checked again where it removes, in case of a race
        code_package.prepare_dir(into, force=True)
    assert str(err.value) == expected and _tree(into) == before
    for name in added:
        (into / name).unlink()
    code_package.prepare_dir(into, force=True)
    assert sorted(p.name for p in into.iterdir()) == [".metaflow-envs-manifest", OWNER_MARKER]
