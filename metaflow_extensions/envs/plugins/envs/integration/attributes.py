"""The vocabulary of environment decorators: one table of their attributes (ATTRIBUTES: name,
families, default, type, doc), from which each family's defaults and every decorator's
docstring are made.

Kept free of any import beyond the standard library: the decorator classes load it in every
task process, inside the user's environment, where only Metaflow itself is guaranteed.
"""
import textwrap
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Mapping, Tuple

from ..kinds import Family

_C, _P, _N = (Family.CONDA,), (Family.PYPI,), (Family.NAMED,)
_CP = (Family.CONDA, Family.PYPI)


@dataclass(frozen=True)
class Attribute:
    """One attribute of the decorators of `families`: its default, its type and a line of
    doc, from which the decorators' docstrings are made (docs/decorators.md agrees with it)."""

    name: str
    families: Tuple[Family, ...]
    default: Any
    type: str  # as numpydoc writes it: "List[str]", "str, optional"
    doc: str


# Each family accepts its rows, in this order. A name may have one row per
# meaning (`packages` of @conda is `libraries`, of @pypi its PyPI packages).
ATTRIBUTES: Tuple[Attribute, ...] = (
    Attribute("libraries", _C, {}, "Dict[str, str]",
              "Conda packages: name (or `channel::name`) to version. '1.4.2' pins that version, '>=1.4,<2' "
              "or '1.4.*' are Conda version specs, '' means any version."),
    Attribute("packages", _C, {}, "Dict[str, str]", "Same as `libraries` (the spelling of Metaflow's built-in @conda)."),
    Attribute("packages", _P, {}, "Dict[str, str]",
              "PyPI packages: name (extras allowed, `requests[socks]`) to version. '2.31' pins that version, "
              "'>=2.31,<3' is a range, a URL ('git+https://...') installs from there, '' means any version."),
    Attribute("channels", _C, [], "List[str]", "Additional Conda channels to search, first ones first."),
    Attribute("pip_packages", _C, {}, "Dict[str, str]",
              "PyPI packages installed on top of the Conda ones: name to version ('2.31' pins it, '>=2.31' "
              "is a range, '' any)."),
    Attribute("pip_sources", _C, [], "List[str]", "Additional PyPI indices (extra index URLs)."),
    Attribute("extra_indices", _P, [], "List[str]", "Additional PyPI indices (extra index URLs)."),
    Attribute("sources", _P, [], "List[str]", "Same as `extra_indices` (older spelling)."),
    Attribute("extras", _P, [], "List[str]",
              "Extra resolver arguments: \"pre\" allows pre-release versions; "
              "\"only-binary=NAMES\", \"no-binary=NAMES\" and \"index-strategy=STRATEGY\" are pip's and "
              "uv's options of those names. Others are refused, naming why."),
    Attribute("conda_only", _P, {}, "Dict[str, str]",
              "Non-Python Conda packages (e.g. {\"ffmpeg\": \"\"}) added to this PyPI environment, name "
              "(or `channel::name`) to version."),
    Attribute("requirements", _P, None, "str, optional",
              "A requirements.txt or requirements.in (relative to the flow file): its packages, indexes "
              "and options; the decorator's own `packages` win for a package both name."),
    Attribute("python", _CP, None, "str, optional",
              "Python version, e.g. '3.10' (the 3.10 series) or '>=3.9,<3.12'. By default, the version "
              "of the interpreter running the flow."),
    Attribute("disabled", _CP, None, "bool, optional",
              "If True, run in the Python running the flow (on a flow decorator: the steps that set "
              "nothing themselves)."),
    Attribute("no_pypi", _C, False, "bool",
              "If True, no PyPI package at all: what Metaflow needs in a task comes from Conda too, and "
              "PyPI packages asked for the step are an error."),
    # Known only to be refused with a message (Metaflow itself would stop at an unknown
    # attribute with a traceback): its old bool meaning is `no_pypi`, and the reference's
    # conda_only is @pypi's.
    Attribute("conda_only", _C, None, "Any, optional",
              "Refused, naming what to use: `no_pypi=True` (its old meaning here), or "
              "@pypi(conda_only={...}) for Conda packages in a PyPI environment."),
    # A lock file giving the PyPI packages as locked, and the extras and dependency groups
    # selected from it (`extras` is taken: the reference's resolver options of @pypi).
    Attribute("lockfile", _CP, None, "str, optional",
              "A uv.lock or pylock.toml (relative to the flow file): the PyPI packages exactly as locked."),
    Attribute("lock_extras", _CP, [], "List[str]", "Extras of the lock file to install."),
    Attribute("lock_groups", _CP, [], "List[str]", "Dependency groups of the lock file to install."),
    Attribute("name", _CP, None, "str, optional",
              "Use the named environment `name[:tag]` as it is (only `fetch_at_exec` can go with it). "
              "`@{VAR}` is replaced by an environment variable."),
    Attribute("name", _N, None, "str, optional",
              "The environment `name[:tag]` (e.g. 'team/env:stable'; tag 'latest' by default). `@{VAR}` "
              "is replaced by an environment variable."),
    Attribute("pathspec", _CP, None, "str, optional",
              "Use the environment the step `Flow/run_id/step` ran in (only `fetch_at_exec` can go with it)."),
    Attribute("pathspec", _N, None, "str, optional", "The environment the step `Flow/run_id/step` ran in."),
    Attribute("fetch_at_exec", _CP, False, "bool",
              "Look `name` or `pathspec` up when the task starts rather than when the flow starts."),
    Attribute("fetch_at_exec", _N, False, "bool",
              "Look the environment up when the task starts (then `@{METAFLOW_RUN_ID}`, "
              "`@{METAFLOW_INIT_<PARAM>}`... can be used) rather than when the flow starts."),
)


def attributes_of(family: Family) -> Tuple[Attribute, ...]:
    """The rows `family` accepts, in the table's order."""
    return tuple(a for a in ATTRIBUTES if family in a.families)


_DEFAULTS: Dict[Family, Dict[str, Any]] = {f: {a.name: a.default for a in attributes_of(f)} for f in Family}

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


def decorator_doc(summary: str, family: Family) -> str:
    """A decorator's numpydoc docstring: `summary`, then every attribute `family` accepts,
    from ATTRIBUTES (so that no accepted attribute goes undocumented)."""
    lines = [""] + ["    " + line if line else "" for line in textwrap.dedent(summary).strip("\n").splitlines()]
    lines += ["", "    Parameters", "    ----------"]
    for attr in attributes_of(family):
        lines.append("    %s : %s, default %s" % (attr.name, attr.type, _shown(attr.default)))
        lines += textwrap.wrap(attr.doc, 92, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return "\n".join(lines) + "\n    "


def _shown(default: Any) -> str:
    return "{}" if default == {} else "[]" if default == [] else repr(default)
