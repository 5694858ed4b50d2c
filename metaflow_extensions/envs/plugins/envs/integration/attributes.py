"""The vocabulary of environment decorators: families and their attributes with defaults.

Kept free of any import beyond the standard library: the decorator classes load it in every
task process, inside the user's environment, where only Metaflow itself is guaranteed.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Mapping

from ..kinds import Family


_NAMED_DEFAULTS: Dict[str, Any] = {"name": None, "pathspec": None, "fetch_at_exec": False}
# A lock file (uv.lock, pylock.toml; relative to the flow file) giving the PyPI packages as
# locked, and the extras and dependency groups selected from it (`extras` is taken: the
# reference's resolver options of @pypi).
_LOCK_DEFAULTS: Dict[str, Any] = {"lockfile": None, "lock_extras": [], "lock_groups": []}
_DEFAULTS: Dict[str, Dict[str, Any]] = {
    Family.CONDA: {
        "libraries": {},
        "packages": {},  # Metaflow's built-in @conda spelling of `libraries`
        "channels": [],
        "pip_packages": {},
        "pip_sources": [],
        "python": None,
        "disabled": None,
        "no_pypi": False,  # no PyPI package at all: Metaflow's own needs from Conda too
        # Known only to be refused with a message (Metaflow itself would stop at an unknown
        # attribute with a traceback): its old bool meaning is `no_pypi`, and the reference's
        # conda_only is @pypi's.
        "conda_only": None,
        **_LOCK_DEFAULTS,
        **_NAMED_DEFAULTS,
    },
    Family.PYPI: {
        "packages": {},
        "extra_indices": [],
        "sources": [],  # older spelling of `extra_indices`
        "extras": [],  # resolver options by name: PYPI_EXTRAS
        "conda_only": {},  # non-Python Conda packages (ffmpeg...) in a PyPI environment
        "requirements": None,  # a requirements.txt / requirements.in (relative to the flow file)
        "python": None,
        "disabled": None,
        **_LOCK_DEFAULTS,
        **_NAMED_DEFAULTS,
    },
    Family.NAMED: dict(_NAMED_DEFAULTS),
}

# What `@pypi(extras=[...])` accepts (the reference's extra resolver arguments, with or
# without their leading `--`): name -> what it does (for messages and docs). `NAME=VALUE`
# for the ones taking a value.
PYPI_EXTRAS: Dict[str, str] = {
    "pre": "allow pre-release versions (uv's --prerelease allow)",
    "only-binary=NAMES": "wheels only for these packages, comma-separated, or :all: (pip's --only-binary)",
    "no-binary=NAMES": "build these packages from source, comma-separated, or :all: (pip's --no-binary)",
    "index-strategy=STRATEGY": "how several indexes are searched: first-index, unsafe-first-match or "
                               "unsafe-best-match (uv's --index-strategy)",
}
# Resolver arguments users of the reference pass that uv cannot honour here, and why.
PYPI_EXTRAS_REFUSED: Dict[str, str] = {
    "no-build-isolation": "builds from source run isolated here, so that the same request always "
                          "builds the same wheel; declare the build's needs in the package's pyproject.toml",
    "no-deps": "every dependency is resolved and locked here; pin the ones you want in packages={...}",
    "use-pep517": "uv always builds with PEP 517",
    "upgrade": "use METAFLOW_CONDA_UPGRADE or --force-rebuild-environments to move versions",
}


def defaults_for(family: Family) -> Dict[str, Any]:
    """A fresh copy of the attributes (and their defaults) a family's decorators accept."""
    return {k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in _DEFAULTS[family].items()}


@dataclass(frozen=True)
class DecoratorAttrs:
    """One decorator as the rules see it: a label for messages (`@conda`), its family, its
    attributes and which of them the user set."""

    label: str
    family: Family
    attributes: Mapping[str, Any]
    user_set: FrozenSet[str] = field(default_factory=frozenset)


