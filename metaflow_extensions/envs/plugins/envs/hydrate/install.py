"""Turn a Lock into a working prefix by executing its hydration plan (hydrate/plan.py):
fetch what the plan says from where it says, link Conda packages, install wheels.

No re-resolution happens here: the lock is the whole truth. Where a prefix is, whether it
is ours and complete: hydrate/prefix.py.
"""
import datetime
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

from filelock import FileLock, Timeout

from .. import settings
from ..auth import Credentials
from ..errors import HydrateError
from ..kinds import PackageKind, PlanSource, PythonSource
from ..layout import CACHE_RATTLER
from ..lock import LockedPackage, ResolvedEnvironment
from ..plumbing.cache import PackageCache
from ..plumbing.interpreters import find_interpreter
from ..plumbing.rattler import rattler_client, run_rattler
from ..plumbing.uv import run_uv
from ..plumbing.uv_commands import install_wheels_args, venv_args
from .archive_check import check_conda_archive
from .dirfd import make_parents
from .plan import HydrationPlan, PackageStore, plan
from .prefix import Claimed, check_target, claim, is_complete, mark_complete, python_in, remove_owned


def create_prefix(
    env: ResolvedEnvironment,
    prefix: Path,
    credentials: Optional[Credentials] = None,
    cache: Optional[PackageCache] = None,
    force: bool = False,
    store: Optional[PackageStore] = None,
    planned: Optional[HydrationPlan] = None,
) -> Path:
    """Hydrate `env` into `prefix` (idempotent; safe when several processes race).
    Executes `planned` (a plan of `env` at `prefix` made with the same cache and store), or
    the plan made now: packages come from the local cache, `store` or their origin URL."""
    prefix = check_target(prefix)
    cache = cache or PackageCache()
    credentials = credentials or Credentials.from_environment()
    make_parents(prefix.parent)
    try:
        with _locked(Path(str(prefix) + ".lock")):
            if is_complete(prefix, env) and not force:
                return prefix  # made by another process while we waited, or planned so
            if planned is None or planned.already_complete:
                planned = plan(env, prefix, cache, store, force)
            packages = _gather(env, planned, cache, credentials, store)
            with claim(prefix) as claimed:
                try:
                    # The installers work by path: the prefix must still be the directory
                    # claimed before they start, and after (mark_complete checks it again).
                    claimed.check_in_place()
                    _install_or_refetch(env, packages, claimed, cache, credentials, store)
                    mark_complete(claimed, env)
                except BaseException:
                    try:
                        remove_owned(prefix, keep_dir=claimed.adopted)
                    except (OSError, HydrateError):  # the original failure is the one to report
                        pass
                    raise
    except Timeout:
        raise HydrateError(
            "Timed out waiting for another process creating %s (METAFLOW_CONDA_LOCK_TIMEOUT)." % prefix
        ) from None
    return prefix


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold `path`'s lock, waiting METAFLOW_CONDA_LOCK_TIMEOUT for another process holding it
    (checked: a negative value would make filelock wait forever)."""
    lock = FileLock(str(path))
    lock.acquire(timeout=settings.value("CONDA_LOCK_TIMEOUT"))
    try:
        yield
    finally:
        lock.release()


def _install_or_refetch(
    env: ResolvedEnvironment, packages: List[LockedPackage], claimed: Claimed, cache: PackageCache,
    credentials: Credentials, store: Optional[PackageStore],
) -> None:
    """A cached archive damaged without changing size passes `has` and fails only at install:
    those found damaged are fetched again (by a new plan) for one more try."""
    prefix = claimed.path
    try:
        _install(env, packages, prefix, cache, credentials)
    except HydrateError:
        if not [p for p in packages if cache.discard_if_corrupt(p)]:
            raise
        claimed.check_in_place()
        claimed.clear()
        _install(env, _gather(env, plan(env, prefix, cache, store), cache, credentials, store),
                 prefix, cache, credentials)


def _gather(env: ResolvedEnvironment, planned: HydrationPlan, cache: PackageCache, credentials: Credentials,
            store: Optional[PackageStore]) -> List[LockedPackage]:
    """Bring every archive of the plan into the cache from the source it names; returns the
    archives to install. One the store fails to give (gone, or corrupted there) comes from
    its origin instead: the lock's own archive (an alternate exists only in the store)."""
    from_store = [s.archive for s in planned.steps if s.source == PlanSource.STORE]
    failed = {p.identity() for p in store.download_packages(from_store, cache)} if store and from_store else set()
    chosen = [s.locked if s.archive.identity() in failed else s.archive for s in planned.steps]
    # The plan's origin packages, and any cache entry removed since the plan was made.
    missing = [p for p in chosen if not cache.has(p)]
    if missing:
        from ..plumbing.download import configured_local_sources, fetch_packages  # here: a warm create never downloads

        fetch_packages(missing, cache, credentials, local_sources=configured_local_sources(env.local_source_urls()))
    return chosen


def _install(
    env: ResolvedEnvironment, packages: List[LockedPackage], prefix: Path, cache: PackageCache,
    credentials: Credentials,
) -> None:
    conda = [p for p in packages if p.kind == PackageKind.CONDA]
    if conda:
        _link_conda(conda, prefix, cache)
    if env.python_source == PythonSource.SYSTEM:
        # An exact version (resolved on this platform), or a series (resolved for it elsewhere).
        interpreter = find_interpreter(("==%s" if env.python_version.count(".") >= 2 else "%s.*") % env.python_version)
        run_uv(venv_args(interpreter, str(prefix)),
               credentials, HydrateError, "Could not create a virtualenv for Python %s" % env.python_version)
    wheels = [p for p in packages if p.kind == PackageKind.PYPI]
    if wheels:
        paths = [str(cache.path_for(p)) for p in wheels]
        python = python_in(prefix)
        run_uv(
            install_wheels_args(str(python), paths),
            credentials, HydrateError, "Could not install the PyPI packages into %s" % prefix,
        )


def _link_conda(packages: List[LockedPackage], prefix: Path, cache: PackageCache) -> None:
    import rattler

    for pkg in packages:
        check_conda_archive(pkg, cache.path_for(pkg))
    records = [_repodata_record(p, cache) for p in packages]
    extracted = settings.cache_dir(CACHE_RATTLER)
    client = rattler_client([], HydrateError)  # (the packages are local files by now)
    try:
        run_rattler(
            rattler.install(
                records,
                target_prefix=str(prefix),
                cache_dir=extracted,
                show_progress=False,
                execute_link_scripts=False,
                client=client,
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

