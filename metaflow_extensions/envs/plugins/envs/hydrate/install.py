"""Turn a Lock into a working prefix: plan, fetch, link Conda packages, install wheels.

No re-resolution happens here: the lock is the whole truth. A prefix is complete only when
its marker file (holding the full_id) exists; the marker is written last, so an interrupted
creation is detected and redone by the next run.
"""
import datetime
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Protocol, Sequence

from filelock import FileLock, Timeout

from .. import rattler_bridge, settings
from ..auth import Credentials
from ..errors import HydrateError
from ..lock import KIND_CONDA, KIND_PYPI, PYTHON_FROM_SYSTEM, LockedPackage, ResolvedEnvironment
from ..resolve.system_python import find_interpreter
from ..resolve.uv import run_uv
from .archive_check import check_conda_archive
from .cache import PackageCache
from .fetch import configured_local_sources, fetch_packages

MARKER = ".metaflow-envs-complete"


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
    prefix = Path(prefix).absolute()
    cache = cache or PackageCache()
    credentials = credentials or Credentials.from_environment()
    prefix.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(prefix) + ".lock", timeout=settings.number("CONDA_LOCK_TIMEOUT", 600))
    try:
        with lock:
            if is_complete(prefix, env) and not force:
                return prefix
            if prefix.exists():
                shutil.rmtree(prefix)  # incomplete or stale: never trusted
            try:
                _fetch_and_install(env, prefix, cache, credentials, store)
            except BaseException:
                shutil.rmtree(prefix, ignore_errors=True)
                raise
            (prefix / MARKER).write_text(env.full_id + "\n")
    except Timeout:
        raise HydrateError(
            "Timed out waiting for another process creating %s (METAFLOW_CONDA_LOCK_TIMEOUT)." % prefix
        ) from None
    return prefix


def _fetch_and_install(
    env: ResolvedEnvironment, prefix: Path, cache: PackageCache, credentials: Credentials,
    store: Optional[PackageSource],
) -> None:
    """Gather and install. A cached archive damaged without changing size passes `has` and
    fails only here: those found damaged are fetched again for one more try."""
    packages = _gather(env, cache, credentials, store)
    try:
        _install(env, packages, prefix, cache, credentials)
    except HydrateError:
        if not [p for p in packages if cache.discard_if_corrupt(p)]:
            raise
        shutil.rmtree(prefix, ignore_errors=True)
        _install(env, _gather(env, cache, credentials, store), prefix, cache, credentials)


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
        rattler_bridge.run(
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


def remove_prefix(prefix: Path) -> None:
    if os.path.isdir(prefix):
        shutil.rmtree(prefix)
