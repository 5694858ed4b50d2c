"""Hydration trusts nothing it reads: package filenames, archive members and links, local
file URLs in a lock, and the caches (archives and rattler's extracted packages)."""
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.errors import HydrateError
from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import python_in
from metaflow_extensions.envs.plugins.envs.lock import CondaRecordInfo, LockedPackage, ResolvedEnvironment
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec

from .conftest_helpers import run_python


def _env(*pkgs, channels=()):
    return ResolvedEnvironment(spec=EnvSpec(channels=tuple(channels)), packages=tuple(pkgs), python_version="3.11.7")


@pytest.mark.parametrize("filename", ["../../evil.conda", "a/b.conda", "..", ""])
def test_unsafe_package_filenames_are_refused(tmp_path, filename):
    pkg = LockedPackage("conda", "evil", "1.0", "0", filename, "http://127.0.0.1:9/x", "a" * 64,
                        conda=CondaRecordInfo())
    with pytest.raises(HydrateError, match="unsafe package filename"):
        create_prefix(_env(pkg), tmp_path / "env", cache=PackageCache(tmp_path / "cache"))
    assert not (tmp_path / "evil.conda").exists() and not (tmp_path / "env").exists()


def _conda_package(path: Path, files=(), symlinks=(), hardlinks=(), listed=None) -> LockedPackage:
    """A .tar.bz2 Conda package: `files` (name, bytes), `symlinks` and `hardlinks` (name,
    target). paths.json lists `listed` (default: every member)."""
    index = {"name": "evil", "version": "1.0", "build": "0", "build_number": 0, "subdir": "noarch", "depends": []}
    entries = [{"_path": n, "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(), "size_in_bytes": len(d)}
               for n, d in files]
    entries += [{"_path": n, "path_type": "softlink"} for n, _ in symlinks]
    entries = entries if listed is None else [e for e in entries if e["_path"] in listed]
    with tarfile.open(path, "w:bz2") as archive:
        for name, data in (("info/index.json", json.dumps(index).encode()),
                           ("info/paths.json", json.dumps({"paths_version": 1, "paths": entries}).encode()),
                           *files):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for members, kind in ((symlinks, tarfile.SYMTYPE), (hardlinks, tarfile.LNKTYPE)):
            for name, target in members:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, target
                archive.addfile(info)
    return LockedPackage("conda", "evil", "1.0", "0", path.name, path.as_uri(),
                         hashlib.sha256(path.read_bytes()).hexdigest(), size=path.stat().st_size,
                         conda=CondaRecordInfo(subdir="noarch"))


def _channel(tmp_path: Path) -> Path:
    channel = tmp_path / "channel"
    channel.mkdir()
    return channel


@pytest.mark.parametrize("member", ["../../escape.txt", "/tmp/escape-abs.txt"])
def test_tar_slip_archive_is_refused(tmp_path, member, engine_settings):
    channel = _channel(tmp_path)
    pkg = _conda_package(channel / "evil-1.0-0.tar.bz2", files=[(member, b"bad")])
    with pytest.raises(HydrateError, match="Refusing Conda package evil-1.0-0.tar.bz2: it would write .*escape"):
        create_prefix(_env(pkg, channels=[str(channel)]), tmp_path / "a" / "b" / "env",
                      cache=PackageCache(tmp_path / "cache"))
    assert not list(tmp_path.rglob("escape*")) and not (tmp_path / "a" / "b" / "env").exists()


@pytest.mark.parametrize("links", [
    {"symlinks": [("share/x", "/outside")]},
    {"symlinks": [("share/x", "../../outside")]},
    {"symlinks": [("share/x", "../../outside")], "listed": ["share/ok.txt"]},  # unlisted, still extracted
    {"hardlinks": [("share/y", "../../outside")]},
])
def test_links_pointing_outside_the_prefix_are_refused_before_linking(tmp_path, links, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    channel = _channel(tmp_path)
    pkg = _conda_package(channel / "evil-1.0-0.tar.bz2", files=[("share/ok.txt", b"ok")], **links)
    with pytest.raises(HydrateError, match="Refusing Conda package evil-1.0-0.tar.bz2: its member share/. -> .*outside"):
        create_prefix(_env(pkg, channels=[str(channel)]), tmp_path / "env")
    assert not (tmp_path / "env").exists()
    assert not (tmp_path / "cache" / "rattler").exists() or not list((tmp_path / "cache" / "rattler").iterdir())


def test_links_inside_the_package_are_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    channel = _channel(tmp_path)
    pkg = _conda_package(channel / "evil-1.0-0.tar.bz2", files=[("lib/libx.so.1", b"elf")],
                         symlinks=[("lib/libx.so", "libx.so.1"), ("share/doc/lib", "../../lib")])
    prefix = create_prefix(_env(pkg, channels=[str(channel)]), tmp_path / "env")
    assert (prefix / "lib" / "libx.so").resolve() == (prefix / "lib" / "libx.so.1").resolve()
    assert (prefix / "lib" / "libx.so").read_bytes() == b"elf"


def test_a_stored_lock_cannot_make_us_read_a_local_file(tmp_path, monkeypatch):
    """A lock read back (from a datastore, say) names a file: URL outside every local source
    configured here: it is not read. Once the user configures that channel, it is."""
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("METAFLOW_CONDA_CHANNELS", raising=False)
    channel = _channel(tmp_path)
    pkg = _conda_package(channel / "evil-1.0-0.tar.bz2", files=[("share/ok.txt", b"ok")])
    # The lock even claims the channel as its own: a stored lock's sources are no authority.
    stored = ResolvedEnvironment.from_json(_env(pkg, channels=[str(channel)]).to_json())
    with pytest.raises(HydrateError, match="Refusing to read file://.*evil-1.0-0.tar.bz2: a package may come from a "
                                           "local file only inside a local channel"):
        create_prefix(stored, tmp_path / "env")
    assert not list((tmp_path / "cache").rglob("evil-1.0-0.tar.bz2"))
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", str(channel))
    assert (create_prefix(stored, tmp_path / "env") / "share" / "ok.txt").read_bytes() == b"ok"


@pytest.fixture
def tinyutil_env(tmp_path, monkeypatch, engine_settings):
    """tinyutil from the test channel, with a cache of this test's own (it gets damaged)."""
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    env = resolve_environment(EnvSpec(conda_deps=(CondaDep.parse("tinyutil==1.1.0"),), python="3.11.*"))
    prefix = create_prefix(env, tmp_path / "first")
    return env, prefix, tmp_path / "cache"


def _tinyutil_source(prefix: Path) -> Path:
    return next(prefix.glob("lib/python*/site-packages/tinyutil/__init__.py"))


@pytest.mark.parametrize("where", ["extracted cache", "hard-linked prefix"])
def test_an_edited_file_in_the_extracted_cache_does_not_reach_new_environments(tinyutil_env, tmp_path, where):
    env, first, cache = tinyutil_env
    original = _tinyutil_source(first).read_bytes()
    extracted = next((cache / "rattler").glob("tinyutil-1.1.0-*/site-packages/tinyutil/__init__.py"))
    edited = extracted if where == "extracted cache" else _tinyutil_source(first)
    assert edited.stat().st_nlink > 1  # the prefix's file is the cache's file (hard link)
    with open(edited, "r+b") as handle:  # in place, same size: only content checks notice
        handle.write(b"#" * 8)
    second = create_prefix(env, tmp_path / "second")
    assert _tinyutil_source(second).read_bytes() == original
    assert run_python(python_in(second), "import tinyutil; print('ok')") == "ok"


@pytest.mark.parametrize("damage", ["truncate", "flip a byte"])
def test_a_damaged_cached_archive_is_fetched_again(tinyutil_env, tmp_path, damage):
    env, _, cache = tinyutil_env
    pkg = next(p for p in env.packages if p.name == "tinyutil")
    archive = PackageCache(cache / "pkgs").path_for(pkg)
    data = bytearray(archive.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    # As on a machine whose extracted packages were cleaned: the archive itself is needed.
    shutil.rmtree(cache / "rattler")
    second = create_prefix(env, tmp_path / "second")
    assert run_python(python_in(second), "import tinyutil; print('ok')") == "ok"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == pkg.sha256
