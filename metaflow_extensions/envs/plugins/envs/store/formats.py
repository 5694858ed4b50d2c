"""METAFLOW_CONDA_PREFERRED_FORMAT: keep Conda packages in the store in one archive format.

A package only available in the other format is transmuted (conda-package-handling) when it
is published; both archives are then stored, and the lock lists the transmuted one among the
package's `alternates`, so hydration can pick the preferred archive.
"""
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import List

from ..errors import StoreError
from ..plumbing.cache import PackageCache, sha256_of
from ..kinds import PackageKind
from ..lock import LockedPackage, PackageFile, ResolvedEnvironment, conda_archive_stem

FORMATS = (".conda", ".tar.bz2")


def with_alternates(env: ResolvedEnvironment, cache: PackageCache, fmt: str) -> ResolvedEnvironment:
    """`env` with every Conda package also available as `fmt` (transmuting into the cache)."""
    packages = [_ensure_format(p, cache, fmt) if p.kind == PackageKind.CONDA else p for p in env.packages]
    return replace(env, packages=tuple(packages))


def extra_archives(env: ResolvedEnvironment) -> List[LockedPackage]:
    """The alternates of `env`, as packages to upload next to the originals."""
    return [p.as_alternate(alt) for p in env.packages for alt in p.alternates]


def _ensure_format(pkg: LockedPackage, cache: PackageCache, fmt: str) -> LockedPackage:
    if pkg.in_format(fmt) is not None:
        return pkg
    from conda_package_handling import api as cph

    with tempfile.TemporaryDirectory(prefix="mfenvs-transmute-", dir=cache.root) as tmp:
        try:
            cph.transmute(str(cache.path_for(pkg)), fmt, out_folder=tmp)
        except Exception as err:
            raise StoreError("Could not convert %s to %s: %s" % (pkg.filename, fmt, err)) from None
        made = Path(tmp) / (conda_archive_stem(pkg.filename) + fmt)
        stored = cache.add_file(made, PackageKind.CONDA)
    alt = PackageFile(stored.name, sha256_of(stored), stored.stat().st_size)
    return replace(pkg, alternates=pkg.alternates + (alt,))
