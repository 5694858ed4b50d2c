"""PackageCache.entries(): what `gc` walks instead of spelling the cache's layout itself."""
import hashlib
from pathlib import Path

from metaflow_extensions.envs.plugins.envs.plumbing.cache import CacheEntry, PackageCache, partial_file


def _add(cache: PackageCache, tmp_path: Path, kind: str, name: str, content: bytes) -> Path:
    source = tmp_path / "src" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(content)
    return cache.add_file(source, kind)


def test_entries_are_every_complete_file_with_its_kind_and_sha256(tmp_path):
    cache = PackageCache(tmp_path / "pkgs")
    wheel = _add(cache, tmp_path, "pypi", "a-1.0-py3-none-any.whl", b"wheel")
    archive = _add(cache, tmp_path, "conda", "b-1.0-0.conda", b"conda")
    partial_file(wheel.parent)  # an interrupted download beside an entry is no entry

    assert list(cache.entries()) == [
        CacheEntry("conda", hashlib.sha256(b"conda").hexdigest(), archive),
        CacheEntry("pypi", hashlib.sha256(b"wheel").hexdigest(), wheel),
    ]
    assert list(cache.entry_dirs()) == [archive.parent, wheel.parent]


def test_a_cache_never_written_has_no_entries(tmp_path):
    cache = PackageCache(tmp_path / "absent")
    assert list(cache.entries()) == [] and list(cache.entry_dirs()) == []
    assert not (tmp_path / "absent").exists()
