"""Minimal-change re-resolution: the versions a previous lock chose, kept where they still fit.

A resolution given `Preferences` asks both solvers to keep each package at the version (for
Conda, the very build) the previous lock has, as long as the new request allows it; only what
must move moves. `upgrade_all` or `upgrade` (package names) lift that for all or some
packages, as `uv lock --upgrade` / `--upgrade-package` do. Preferences never enter the request
(its req_id): they steer which of the acceptable answers is picked.
"""
import re
from dataclasses import dataclass
from typing import FrozenSet, Iterable, Optional, Tuple

from packaging.utils import canonicalize_name

from ..errors import SpecError
from ..lock import LockedPackage, ResolvedEnvironment

# METAFLOW_CONDA_UPGRADE: this value lifts every preference.
UPGRADE_ALL = ":all:"
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")  # a PEP 508 (and Conda) package name


@dataclass(frozen=True)
class Preferences:
    packages: Tuple[LockedPackage, ...] = ()
    upgrade_all: bool = False
    upgrade: FrozenSet[str] = frozenset()  # canonical names

    @classmethod
    def of(cls, previous: Optional[ResolvedEnvironment], upgrade_all: bool = False,
           upgrade: Iterable[str] = ()) -> "Preferences":
        """The preferences a previous environment gives (none without one)."""
        return cls(packages=previous.packages if previous is not None else (), upgrade_all=upgrade_all,
                   upgrade=frozenset(canonicalize_name(n) for n in upgrade))

    @property
    def lifts(self) -> bool:
        """Whether anything is to move on purpose (a reason to resolve a known request again)."""
        return self.upgrade_all or bool(self.upgrade)

    def keeps(self, name: str) -> bool:
        """Whether package `name` is to stay at its previous version where allowed."""
        return not self.upgrade_all and canonicalize_name(name) not in self.upgrade

    def kept(self, kind: str) -> Tuple[LockedPackage, ...]:
        """The previous packages of `kind` (a PackageKind) the solver should keep."""
        return tuple(p for p in self.packages if p.kind == kind and self.keeps(p.name))


def parse_upgrade_setting(value: Optional[str]) -> Tuple[bool, Tuple[str, ...]]:
    """METAFLOW_CONDA_UPGRADE: empty (keep every version), `:all:`, or comma-separated
    package names -> (upgrade_all, names)."""
    names = tuple(n.strip() for n in (value or "").split(",") if n.strip())
    if UPGRADE_ALL in names:
        if len(names) > 1:
            raise SpecError("METAFLOW_CONDA_UPGRADE is either %s or package names, not both: '%s'."
                            % (UPGRADE_ALL, value))
        return True, ()
    return False, check_package_names(names, "METAFLOW_CONDA_UPGRADE (comma-separated names, or %s)" % UPGRADE_ALL)


def check_package_names(names: Iterable[str], where: str) -> Tuple[str, ...]:
    """`names`, each checked to be a package name; `where` names the option or setting."""
    names = tuple(names)
    for name in names:
        if not _NAME.match(name):
            raise SpecError("'%s' is not a package name: fix %s." % (name, where))
    return names
