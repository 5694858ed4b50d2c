"""Turn a Lock into a working prefix: plan, fetch, link Conda packages, install wheels.

No re-resolution happens here: the lock is the whole truth. A prefix is complete only when
its marker file (holding the full_id) exists; the marker is written last, so an interrupted
creation is detected and redone by the next run.

Never destroy what we did not create: a prefix is ours when it carries OWNER_MARKER, written
before anything else goes into it (or, from earlier versions, a completion marker). Only a
new path or an empty directory becomes ours; anything else (a non-empty directory without
the marker, a file, a symbolic link, the filesystem root, HOME, the cache or a parent of
it) is refused before anything is touched, whatever the flags. `remove_owned` is the only
way a prefix is ever deleted, and it proves ownership first.
"""
import datetime
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Protocol, Sequence

from filelock import FileLock, Timeout

from .. import settings
from ..auth import Credentials
from ..errors import HydrateError
from ..lock import KIND_CONDA, KIND_PYPI, PYTHON_FROM_SYSTEM, LockedPackage, ResolvedEnvironment, conda_archive_stem
from ..plumbing.cache import PackageCache
from ..plumbing.download import configured_local_sources, fetch_packages
from ..plumbing.interpreters import find_interpreter
from ..plumbing.rattler import run_rattler
from ..plumbing.uv import run_uv
from .archive_check import check_conda_archive

MARKER = ".metaflow-envs-complete"
OWNER_MARKER = ".metaflow-envs-prefix"
_OWNER_TEXT = "Made by metaflow-envs, which may delete or re-create this directory.\n"
_FULL_ID = re.compile(r"^[0-9a-f]{40}$")


class PackageSource(Protocol):
    """Where packages missing from the local cache are looked for before their origin."""

    def download_packages(self, packages: Sequence[LockedPackage], cache: PackageCache) -> List[LockedPackage]:
        """Fetch into `cache`; return the packages it could not provide."""


@dataclass(frozen=True)
class HydrationPlan:
    """What creating a prefix involves, decided before anything is done."""

    prefix: Path
    cached: List[LockedPackage]
    to_fetch: List[LockedPackage]
    already_complete: bool

    def describe(self) -> str:
        if self.already_complete:
            return "%s is complete: nothing to do." % self.prefix
        lines = ["Create %s: %d packages cached, %d to download." % (
            self.prefix, len(self.cached), len(self.to_fetch))]
        lines += ["  download %s (%s)" % (p.filename, p.kind) for p in self.to_fetch]
        return "\n".join(lines)


def is_complete(prefix: Path, env: ResolvedEnvironment) -> bool:
    marker = prefix / MARKER
    return marker.is_file() and marker.read_text().strip() == env.full_id


def plan(env: ResolvedEnvironment, prefix: Path, cache: Optional[PackageCache] = None) -> HydrationPlan:
    cache = cache or PackageCache()
    cached, missing = [], []
    for pkg in env.packages:
        (cached if cache.has(pkg) else missing).append(pkg)
    return HydrationPlan(Path(prefix), cached, missing, is_complete(Path(prefix), env))


def create_prefix(
    env: ResolvedEnvironment,
    prefix: Path,
    credentials: Optional[Credentials] = None,
    cache: Optional[PackageCache] = None,
    force: bool = False,
    store: Optional["PackageSource"] = None,
) -> Path:
    """Hydrate `env` into `prefix` (idempotent; safe when several processes race).
    Packages come from the local cache, then `store` (the datastore), then their origin URL."""
    prefix = check_target(prefix)
    cache = cache or PackageCache()
    credentials = credentials or Credentials.from_environment()
    prefix.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(prefix) + ".lock", timeout=settings.number("CONDA_LOCK_TIMEOUT", 600))
    try:
        with lock:
            if is_complete(prefix, env) and not force:
                return prefix
            packages = _gather(env, cache, credentials, store)
            adopted = _claim(prefix)
            try:
                _install_or_refetch(env, packages, prefix, cache, credentials, store)
            except BaseException:
                try:
                    remove_owned(prefix, keep_dir=adopted)
                except OSError:  # the original failure is the one to report
                    pass
                raise
            (prefix / MARKER).write_text(env.full_id + "\n")
    except Timeout:
        raise HydrateError(
            "Timed out waiting for another process creating %s (METAFLOW_CONDA_LOCK_TIMEOUT)." % prefix
        ) from None
    return prefix


def _install_or_refetch(
    env: ResolvedEnvironment, packages: List[LockedPackage], prefix: Path, cache: PackageCache,
    credentials: Credentials, store: Optional[PackageSource],
) -> None:
    """A cached archive damaged without changing size passes `has` and fails only at install:
    those found damaged are fetched again for one more try."""
    try:
        _install(env, packages, prefix, cache, credentials)
    except HydrateError:
        if not [p for p in packages if cache.discard_if_corrupt(p)]:
            raise
        _clear(prefix)
        # The failed link may have left rattler's extraction of other packages half done.
        for pkg in env.conda_packages():
            shutil.rmtree(settings.cache_dir("rattler") / conda_archive_stem(pkg.filename), ignore_errors=True)
        _install(env, _gather(env, cache, credentials, store), prefix, cache, credentials)


def check_target(prefix: Path) -> Path:
    """`prefix` as an absolute path, if an environment may be created there; else one
    HydrateError naming it and what to do. Touches nothing."""
    prefix = Path(prefix).absolute()
    why = refusal(prefix)
    if why:
        raise HydrateError("Refusing to create an environment at %s: %s" % (prefix, why))
    return prefix


def refusal(path: Path) -> Optional[str]:
    """Why metaflow-envs may not fill (and later delete) directory `path`, as the end of a
    message; None when it may: it does not exist, is empty, or is ours."""
    real = Path(os.path.realpath(path))
    cache = Path(os.path.realpath(settings.cache_root()))
    home = os.path.expanduser("~")
    if real == Path(real.anchor):
        why = "it is the filesystem root"
    elif home != "~" and real == Path(os.path.realpath(home)):
        why = "it is your home directory"
    elif real == cache or real in cache.parents:
        why = "it holds the metaflow-envs cache (%s)" % cache
    elif os.path.islink(path):
        why = "it is a symbolic link"
    elif os.path.lexists(path) and not os.path.isdir(path):
        why = "it is a file"
    else:
        if os.path.isdir(path) and not owns(path) and _has_entries(path):
            return ("it is a non-empty directory that metaflow-envs did not create. Choose an empty or new "
                    "directory, or remove it yourself.")
        return None
    return why + ". Choose an empty or new directory."


def owns(path: Path) -> bool:
    """Whether metaflow-envs made directory `path` (it carries OWNER_MARKER, or a completion
    marker holding a full_id from an earlier version). Reads without touching access times."""
    if os.path.islink(path) or not os.path.isdir(path):
        return False
    if _regular_file(Path(path) / OWNER_MARKER):
        return True
    legacy = Path(path) / MARKER
    return _regular_file(legacy) and bool(_FULL_ID.match(read_marker(legacy)))


def read_marker(path: Path) -> str:
    """A marker's stripped content ("" if unreadable), read without touching its access
    time where the OS allows it (gc's dry run must not make a prefix look used)."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:  # O_NOATIME needs ownership
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return ""
    with os.fdopen(fd) as handle:
        return handle.read(4096).strip()


def _has_entries(path: Path) -> bool:
    with os.scandir(path) as entries:
        return any(True for _ in entries)


def _regular_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def claim_dir(path: Path) -> None:
    """Mark directory `path` (new, empty or ours) as ours before anything goes into it."""
    path.mkdir(parents=True, exist_ok=True)
    (path / OWNER_MARKER).write_text(_OWNER_TEXT)


def _claim(prefix: Path) -> bool:
    """Make `prefix` ours and empty (but for the marker), checking again under the lock;
    returns whether it was an empty directory we were handed (kept if creation fails)."""
    check_target(prefix)
    if owns(prefix):
        _clear(prefix)
        return False
    adopted = prefix.is_dir()
    claim_dir(prefix)
    return adopted


def _clear(path: Path) -> None:
    """Empty an owned directory but for its owner marker, written first: a crash midway
    leaves a directory still marked as ours."""
    claim_dir(path)
    for entry in list(os.scandir(path)):
        if entry.name == OWNER_MARKER:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def remove_owned(path: Path, keep_dir: bool = False) -> None:
    """The one way a prefix (or another directory we fill) is deleted: only when `owns`
    proves metaflow-envs made it. `keep_dir` leaves the emptied directory (one we were
    handed empty)."""
    if not owns(path):
        raise HydrateError("Refusing to remove %s: metaflow-envs did not create it (it has no %s file); remove "
                           "it yourself if you no longer need it." % (path, OWNER_MARKER))
    _clear(path)
    os.unlink(Path(path) / OWNER_MARKER)
    if not keep_dir:
        os.rmdir(path)


def _gather(
    env: ResolvedEnvironment, cache: PackageCache, credentials: Credentials, store: Optional[PackageSource]
) -> List[LockedPackage]:
    """Make every package present in the cache (cache, then store, then origin) and return
    the archives to install: the preferred format's where the store has it."""
    fmt = settings.preferred_format()
    chosen = [(p.in_format(fmt) or p) if fmt and p.kind == KIND_CONDA else p for p in env.packages]
    missing = [p for p in chosen if not cache.has(p)]
    if store is not None and missing:
        missing = store.download_packages(missing, cache)
    unavailable = {p.identity() for p in missing}
    # A transmuted archive exists only in the store; without it, install the original.
    chosen = [orig if pick is not orig and pick.identity() in unavailable else pick
              for orig, pick in zip(env.packages, chosen)]
    fetch_packages([p for p in chosen if not cache.has(p)], cache, credentials,
                   local_sources=configured_local_sources(env.local_source_urls()))
    return chosen


def _install(
    env: ResolvedEnvironment, packages: List[LockedPackage], prefix: Path, cache: PackageCache,
    credentials: Credentials,
) -> None:
    conda = [p for p in packages if p.kind == KIND_CONDA]
    if conda:
        _link_conda(conda, prefix, cache)
    if env.python_source == PYTHON_FROM_SYSTEM:
        interpreter = find_interpreter("==" + env.python_version)
        run_uv(["venv", "--quiet", "--allow-existing", "--python", interpreter, str(prefix)],
               credentials, HydrateError, "Could not create a virtualenv for Python %s" % env.python_version)
    wheels = [p for p in packages if p.kind == KIND_PYPI]
    if wheels:
        paths = [str(cache.path_for(p)) for p in wheels]
        python = python_in(prefix)
        run_uv(
            ["pip", "install", "--quiet", "--no-deps", "--no-index", "--offline",
             "--break-system-packages", "--python", str(python), *paths],
            credentials, HydrateError, "Could not install the PyPI packages into %s" % prefix,
        )


def python_in(prefix: Path) -> Path:
    if sys.platform == "win32":  # pragma: no cover - not a supported host
        return prefix / "python.exe"
    return prefix / "bin" / "python"


def _link_conda(packages: List[LockedPackage], prefix: Path, cache: PackageCache) -> None:
    import rattler

    for pkg in packages:
        check_conda_archive(pkg, cache.path_for(pkg))
    records = [_repodata_record(p, cache) for p in packages]
    extracted = settings.cache_dir("rattler")
    try:
        run_rattler(
            rattler.install(
                records,
                target_prefix=str(prefix),
                cache_dir=extracted,
                show_progress=False,
                execute_link_scripts=False,
                # Every extracted file is checked against its package's paths.json before it is
                # linked: a file edited in the cache (or through a prefix hard-linked to it) is
                # extracted again instead of reaching a new environment.
                package_cache=rattler.PackageCache.new_layered([extracted], validation_mode=rattler.ValidationMode.full()),
            )
        )
    except Exception as err:
        raise HydrateError("Could not link the Conda packages into %s: %s" % (prefix, err)) from None


def _repodata_record(pkg: LockedPackage, cache: PackageCache):
    import rattler

    info = pkg.conda
    if info is None:
        raise HydrateError("Corrupted lock: Conda package %s has no record data." % pkg.filename)
    record = rattler.PackageRecord(
        name=pkg.name,
        version=pkg.version,
        build=rattler.BuildString(pkg.build),
        build_number=info.build_number,
        subdir=info.subdir,
        noarch=rattler.NoArchType(info.noarch) if info.noarch else None,
        depends=list(info.depends),
        constrains=list(info.constrains),
        sha256=bytes.fromhex(pkg.sha256),
        md5=bytes.fromhex(info.md5) if info.md5 else None,
        size=pkg.size,
        license=info.license,
    )
    if info.timestamp:
        record.timestamp = datetime.datetime.fromtimestamp(info.timestamp / 1000, tz=datetime.timezone.utc)
    # The package comes from our verified cache, never from the network at this point.
    url = cache.path_for(pkg).as_uri()
    return rattler.RepoDataRecord(record, pkg.filename, url, info.channel or url.rsplit("/", 1)[0])

