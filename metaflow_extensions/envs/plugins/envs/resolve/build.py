"""Building wheels from sources (sdist, git, local directory) with `uv build`, once.

A build is cached by what it was built from (the source archive's sha256, the git commit,
or the hash of a local directory's files), the target platform and the Python version: the
same request then always locks the same wheel (same sha256, so the same full_id) and is
built only once, however many times it is resolved, dry runs included (a build is a cache
entry like a download, so a dry run and the real run that follows lock the same wheel). The
wheel also goes into the package cache under its sha256, where hydration finds it like any
downloaded package.

Builds are also reproducible, so that two machines (or two fresh caches) lock the same
wheel: they run with SOURCE_DATE_EPOCH set (see `source_date_epoch`), which setuptools
(wheel), hatchling, flit and poetry-core use for every date they write into the archive,
the only part of a pure-Python wheel that otherwise changes from one build to the next.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from .. import settings
from ..auth import Credentials, git_auth_env, strip_credentials
from ..errors import ResolveError
from ..kinds import PackageKind
from ..layout import CACHE_BUILDS
from ..plumbing.cache import PackageCache, is_sha256, safe_filename, sha256_of
from ..plumbing.download import fetch_url
from ..plumbing.notices import notice
from ..plumbing.uv import run_uv
from ..plumbing.uv_commands import build_wheel_args
from ..spec.model import EnvSpec
from .pypi import BuiltWheel, SourceToBuild, WheelBuilder, source_options

# Not part of a local project's identity: VCS data, and what builds write into the tree.
_SKIPPED_DIRS = frozenset((".git", ".hg", ".svn", ".bzr", "__pycache__", "build", "dist", ".eggs",
                           ".tox", ".nox", ".venv", ".mypy_cache", ".pytest_cache"))
_RECORD = "build.json"
STILL_BUILDING_EVERY = 60.0  # seconds between two "still building" notices of one build


def make_builder(
    python: Callable[[], str], python_version: str, spec: EnvSpec, credentials: Credentials,
    cache: PackageCache,
) -> WheelBuilder:
    """A WheelBuilder building with the interpreter `python()` returns (created lazily: most
    environments never need to build)."""
    builds = BuildCache()

    def build(source: SourceToBuild) -> BuiltWheel:
        with tempfile.TemporaryDirectory(prefix="mfenvs-build-") as tmp:
            work = Path(tmp)
            fetched, origin = _identify(source, work, credentials)
            key = build_key(origin, spec.platform, python_version)
            found = builds.get(key)
            if found is None:
                tree = fetched or _materialize(source, work, credentials)
                started = time.monotonic()
                notice("Building %s from source for %s (Python %s)%s." % (
                    _label(source), spec.platform, python_version, ": " + source.why if source.why else ""))
                wheel = _uv_build(source, tree, work, python(), spec, credentials)
                notice("Built %s from source in %s." % (_label(source), _duration(time.monotonic() - started)))
                built = BuiltWheel(wheel.name, sha256_of(wheel), wheel.stat().st_size,
                                   origin if source.kind != "vcs" else content_sha256(tree))
                found = builds.put(key, wheel, built)
            cache.add_file(found[1], PackageKind.PYPI)
            return found[0]

    return build


def build_key(origin: str, platform: str, python_version: str) -> str:
    """The build cache's key: what the wheel is built from, for which target and Python."""
    text = json.dumps({"source": origin, "platform": platform, "python": python_version}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class BuildCache:
    """`<cache>/builds/<key>/{<wheel>, build.json}`: each entry appears whole by an atomic
    rename, and is trusted only while the wheel still has the sha256 recorded beside it."""

    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root else settings.cache_dir(CACHE_BUILDS)

    def get(self, key: str) -> Optional[Tuple[BuiltWheel, Path]]:
        entry = self.root / key
        try:
            built = BuiltWheel(**json.loads((entry / _RECORD).read_text()))
            wheel = entry / safe_filename(built.filename)
            if wheel.suffix == ".whl" and is_sha256(built.source_sha256) and sha256_of(wheel) == built.sha256:
                return built, wheel
        except Exception:  # missing, half-removed or tampered with: build again
            pass
        return None

    def entries(self) -> List[Path]:
        """Every entry folder we wrote (one holding our record file), for gc."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
                      and (p / _RECORD).is_file())

    def put(self, key: str, wheel: Path, built: BuiltWheel) -> Tuple[BuiltWheel, Path]:
        """Store a build; if another process stored one for the same key first, theirs wins
        (every resolution must lock the same wheel)."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".partial-"))
        try:
            shutil.copyfile(wheel, staging / built.filename)
            (staging / _RECORD).write_text(json.dumps(built.__dict__, sort_keys=True))
            entry = self.root / key
            if entry.exists() and self.get(key) is None:
                shutil.rmtree(entry)  # an unusable entry of ours (its name is our key)
            try:
                os.rename(staging, entry)
            except OSError:  # a valid entry appeared meanwhile
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        found = self.get(key)
        if found is None:
            raise ResolveError("Could not store the wheel built for %s in %s: check that the cache "
                               "directory is writable." % (built.filename, self.root))
        return found


def _identify(source: SourceToBuild, work: Path, credentials: Credentials) -> Tuple[Optional[Path], str]:
    """What the source is (an archive's sha256, a directory's content hash, a git commit),
    and where it was fetched to when only fetching could tell (an archive URL the index gave
    no hash for, a git ref without a commit)."""
    if source.kind == "vcs" and source.commit:
        return None, "git:" + source.commit
    if source.kind != "vcs" and source.sha256:
        return None, source.sha256
    local = _local_path(source)
    if local is not None:
        return None, content_sha256(_existing(source, local))
    fetched = _materialize(source, work, credentials)
    if source.kind == "vcs":
        return fetched, "git:" + _git(["rev-parse", "HEAD"], fetched, source, credentials).strip()
    return fetched, content_sha256(fetched)


def content_sha256(path: Path) -> str:
    """sha256 of a file, or of a directory's files (names, executable bits, contents), leaving
    out VCS data and build outputs, which change without the project changing."""
    if path.is_file():
        return sha256_of(path)
    digest = hashlib.sha256()
    for relative, item in _tree_files(path):
        if item.is_symlink():
            kind, content = "link", os.readlink(item)
        else:
            kind, content = "exec" if os.access(item, os.X_OK) else "file", sha256_of(item)
        digest.update(("%s\0%s\0%s\n" % (relative, kind, content)).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _tree_files(root: Path) -> Iterator[Tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            item = Path(dirpath) / name
            yield item.relative_to(root).as_posix(), item


# The earliest date a zip archive (a wheel) can hold: 1980-01-01T00:00:00Z.
ZIP_EPOCH = 315532800


def source_date_epoch(tree: Path) -> int:
    """SOURCE_DATE_EPOCH for building `tree`. For an archive (an sdist), its newest member's
    date: the archive is identified by its sha256, so the same source always gives the same
    date, and a date the source itself carries (as distributions do). A directory or a git
    checkout is identified by its content, not its files' dates (a fresh checkout has new
    ones), so it gets a fixed date. Never before ZIP_EPOCH, which a wheel cannot hold."""
    newest = ZIP_EPOCH
    try:
        if tree.is_file() and zipfile.is_zipfile(tree):
            with zipfile.ZipFile(tree) as archive:
                newest = max([newest] + [int(_zip_time(i.date_time)) for i in archive.infolist()])
        elif tree.is_file() and tarfile.is_tarfile(str(tree)):
            with tarfile.open(str(tree)) as archive:
                newest = max([newest] + [int(m.mtime) for m in archive.getmembers()])
    except (OSError, tarfile.TarError, zipfile.BadZipFile, ValueError, OverflowError):
        pass  # uv reports an unreadable archive itself
    return newest


def _zip_time(date_time: Tuple[int, ...]) -> float:
    import calendar

    return calendar.timegm(tuple(date_time) + (0, 0, 0))


def _uv_build(source: SourceToBuild, tree: Path, work: Path, python: str, spec: EnvSpec,
              credentials: Credentials) -> Path:
    out = work / "dist"
    args = build_wheel_args(str(out), python, str(tree))
    # Build dependencies (setuptools...) come from the request's own indexes.
    source_args, source_env = source_options(spec, credentials, work)
    source_env = dict(source_env, SOURCE_DATE_EPOCH=str(source_date_epoch(tree)))
    run_uv(args + source_args, credentials, ResolveError, "Could not build a wheel for '%s' from %s"
           % (source.name, credentials.redact(source.location)), env=source_env,
           waiting=lambda seconds: notice("Still building %s from source (%s)." % (_label(source), _duration(seconds))),
           every=STILL_BUILDING_EVERY)
    wheels = list(out.glob("*.whl"))
    if len(wheels) != 1:
        raise ResolveError("Building '%s' gave %d wheels, expected one." % (source.name, len(wheels)))
    return wheels[0]


def _label(source: SourceToBuild) -> str:
    return "%s %s" % (source.name, source.version) if source.version else source.name


def _duration(seconds: float) -> str:
    """`42s`, `2m`, `1h 5m`: how long a build has run, as a person reads it."""
    if seconds < 60:
        return "%ds" % seconds
    minutes = int(seconds // 60)
    return "%dm" % minutes if minutes < 60 else "%dh %dm" % (minutes // 60, minutes % 60)


def _local_path(source: SourceToBuild) -> Optional[Path]:
    location = source.location
    if source.kind == "directory" or location.startswith("/") or location.startswith("file://"):
        return Path(location[len("file://"):] if location.startswith("file://") else location)
    return None


def _existing(source: SourceToBuild, path: Path) -> Path:
    if not path.exists():
        raise ResolveError("Local requirement '%s' not found at %s." % (source.name, path))
    return path


def _materialize(source: SourceToBuild, work: Path, credentials: Credentials) -> Path:
    """A local path uv can build from."""
    local = _local_path(source)
    if local is not None:
        return _existing(source, local)
    if source.kind == "vcs":
        return _git_checkout(source, work, credentials)
    filename = source.location.rsplit("/", 1)[-1].split("#", 1)[0]
    dest = work / filename
    fetch_url(source.location, dest, credentials, expected_sha256=source.sha256)
    return dest


def _git_checkout(source: SourceToBuild, work: Path, credentials: Credentials) -> Path:
    url = source.location[len("git+"):] if source.location.startswith("git+") else source.location
    head, _, last = url.rpartition("/")
    ref = ""
    if "@" in last:  # `repo.git@v1.0`: the ref rides on the last path segment
        last, ref = last.split("@", 1)
        url = "%s/%s" % (head, last)
    dest = work / "checkout"
    clone_url, env = _git_auth(url, credentials)
    _git(["clone", "--quiet", clone_url, str(dest)], work, source, credentials, env)
    _git(["checkout", "--quiet", source.commit or ref or "HEAD"], dest, source, credentials, env)
    return dest


def _git_auth(url: str, credentials: Credentials) -> Tuple[str, Dict[str, str]]:
    """The URL to clone and git's environment: over HTTP(S), credentials go in a header set
    through the environment, never in the URL on git's command line. Other schemes (ssh's
    `git@host`) are left as written."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", **git_auth_env([url], credentials))
    return (strip_credentials(url) if url.lower().startswith(("http://", "https://")) else url), env


def _git(args: List[str], cwd: Path, source: SourceToBuild, credentials: Credentials,
         env: Optional[Dict[str, str]] = None) -> str:
    git = shutil.which("git")
    if not git:
        raise ResolveError("'%s' is a git requirement but git is not installed." % source.name)
    proc = subprocess.run([git, *args], cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL, env=env or dict(os.environ, GIT_TERMINAL_PROMPT="0"))
    if proc.returncode != 0:
        raise ResolveError("Could not fetch git requirement '%s' from %s:\n%s" % (
            source.name, strip_credentials(source.location), credentials.redact(proc.stderr.strip())))
    return proc.stdout
