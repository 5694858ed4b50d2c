"""The fixed words of the package: package kinds, Python sources, decorator families and the
hydration plan's sources, actions and reasons, as `str` enums.

Each member *is* its string (`PackageKind.CONDA == "conda"`), so locks, JSON output and
comparisons with strings read back from a lock or a datastore are unchanged. `str()`, `%s`
and f-strings give the bare value too (Python 3.11+ would otherwise print `PackageKind.CONDA`).
Standard library only: every layer imports it, down to the remote node's bootstrap.
"""
from enum import Enum


class _Word(str, Enum):
    """A member that prints, formats and serialises as its value."""

    __str__ = str.__str__
    __format__ = str.__format__


class PackageKind(_Word):
    """Where a locked package comes from, and its folder in the caches and the store."""

    CONDA = "conda"
    PYPI = "pypi"


class PythonSource(_Word):
    """Where an environment's interpreter comes from: a Conda package, or this machine's."""

    CONDA = "conda"
    SYSTEM = "system"


class Family(_Word):
    """A decorator family: @conda/@conda_base, @pypi/@pip(_base), @named_env(_base)."""

    CONDA = "conda"
    PYPI = "pypi"
    NAMED = "named_env"


class PlanSource(_Word):
    """Where hydration takes a package's archive from."""

    CACHE = "cache"
    STORE = "store"
    ORIGIN = "origin"


class PlanReason(_Word):
    """Why a package's archive comes from its PlanSource."""

    IN_CACHE = "in the local cache"
    IN_STORE = "missing locally, in the datastore"
    NOT_IN_STORE = "not in the datastore"
    NO_STORE = "missing locally (no datastore)"


class PrefixAction(_Word):
    """What hydration does to the prefix."""

    NOTHING = "nothing"
    CREATE = "create"
    RECREATE = "re-create"
