"""The hydration plan: everything a creation will do, decided before anything is done.

For the prefix: nothing (it is complete), create it, or re-create it, and why. For each
package of the lock: the archive that will be installed and where it comes from, with the
reason: the local cache, the datastore (one listing tells what it holds), or the package's
origin URL. `create_prefix` executes exactly this plan; `create --dry-run` prints it.

With METAFLOW_CONDA_PREFERRED_FORMAT, a Conda package may be installed from either of its
archives (the lock's or the transmuted alternate the store keeps): a local copy of either
wins over any download, and the preferred one over the other.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Sequence, Set, Tuple

from .. import settings
from ..kinds import PackageKind, PlanReason, PlanSource, PrefixAction
from ..lock import LockedPackage, ResolvedEnvironment
from ..plumbing.cache import PackageCache
from .prefix import MARKER, has_entries, is_complete


class PackageStore(Protocol):
    """Where packages missing from the local cache are looked for before their origin."""

    def present_packages(self, packages: Sequence[LockedPackage]) -> Set[str]:
        """Keys (`package_key`) of those of `packages` it holds."""

    def package_key(self, pkg: LockedPackage) -> str:
        """The key `pkg` is stored under."""

    def download_packages(self, packages: Sequence[LockedPackage], cache: PackageCache) -> List[LockedPackage]:
        """Fetch into `cache`; return the packages it could not provide."""


@dataclass(frozen=True)
class PackageStep:
    """One package of the lock: the archive installed for it, from where, and why."""

    locked: LockedPackage  # the lock's entry
    archive: LockedPackage  # what is installed: the lock's archive or an alternate of it
    source: PlanSource
    reason: PlanReason

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.locked.name, "version": self.locked.version, "kind": self.locked.kind,
                "filename": self.archive.filename, "sha256": self.archive.sha256, "source": self.source,
                "reason": self.reason}


@dataclass(frozen=True)
class HydrationPlan:
    prefix: Path
    action: PrefixAction
    why: str
    steps: Tuple[PackageStep, ...]  # empty when there is nothing to do

    @property
    def already_complete(self) -> bool:
        return self.action == PrefixAction.NOTHING

    @property
    def to_fetch(self) -> List[LockedPackage]:
        """What is not in the local cache yet (from the store or the origin)."""
        return [s.archive for s in self.steps if s.source != PlanSource.CACHE]

    def to_dict(self) -> Dict[str, Any]:
        return {"prefix": str(self.prefix), "action": self.action, "why": self.why,
                "packages": [s.to_dict() for s in self.steps]}


def plan(env: ResolvedEnvironment, prefix: Path, cache: Optional[PackageCache] = None,
         store: Optional[PackageStore] = None, force: bool = False) -> HydrationPlan:
    """What creating `env` at `prefix` will do now. Reads only: the prefix's marker, the
    cache's entries and (for what the cache lacks) one listing of the store."""
    prefix = Path(prefix)
    action, why = _prefix_action(prefix, env, force)
    if action == PrefixAction.NOTHING:
        return HydrationPlan(prefix, action, why, ())
    return HydrationPlan(prefix, action, why, tuple(package_steps(env, cache or PackageCache(), store)))


def _prefix_action(prefix: Path, env: ResolvedEnvironment, force: bool) -> Tuple[PrefixAction, str]:
    if is_complete(prefix, env):
        return (PrefixAction.RECREATE, "--force") if force else (PrefixAction.NOTHING, "it is complete")
    if not os.path.isdir(prefix):
        return PrefixAction.CREATE, "it does not exist"
    if not has_entries(prefix):
        return PrefixAction.CREATE, "it is an empty directory"
    if os.path.lexists(prefix / MARKER):
        return PrefixAction.RECREATE, "it holds another environment"
    return PrefixAction.RECREATE, "an earlier creation did not finish"


def package_steps(env: ResolvedEnvironment, cache: PackageCache, store: Optional[PackageStore]) -> List[PackageStep]:
    """Per package: the local cache, else the store, else its origin."""
    # Read only when it matters: settings may import Metaflow's configuration (~0.15 s).
    fmt = settings.preferred_format() if env.conda_packages() else None
    options = [_archives(p, fmt) for p in env.packages]
    local = {a.identity() for archives in options for a in archives if cache.has(a)}
    wanted = [a for archives in options for a in archives if a.identity() not in local]
    stored = store.present_packages(wanted) if store is not None and wanted else set()
    steps = []
    for pkg, archives in zip(env.packages, options):
        cached = [a for a in archives if a.identity() in local]
        remote = [a for a in archives if store is not None and store.package_key(a) in stored]
        if cached:
            steps.append(PackageStep(pkg, cached[0], PlanSource.CACHE, PlanReason.IN_CACHE))
        elif remote:
            steps.append(PackageStep(pkg, remote[0], PlanSource.STORE, PlanReason.IN_STORE))
        else:
            steps.append(PackageStep(pkg, pkg, PlanSource.ORIGIN,
                                     PlanReason.NOT_IN_STORE if store is not None else PlanReason.NO_STORE))
    return steps


def _archives(pkg: LockedPackage, fmt: Optional[str]) -> List[LockedPackage]:
    """The archives `pkg` may be installed from, the preferred first."""
    preferred = pkg.in_format(fmt) if fmt and pkg.kind == PackageKind.CONDA else None
    return [preferred, pkg] if preferred is not None and preferred is not pkg else [pkg]
