"""What a step asks for, from its decorators' attributes: the pure rules, no Metaflow.

The Metaflow decorator classes (decorators.py) only collect their attributes and call
`request_for_step`; every rule about how flow- and step-level decorators
combine lives here so it can be tested without a flow. The result, `StepEnvRequest`, is what
the environment object orchestrates (resolve, alias lookup, hydrate).

Families: "conda" (@conda, @conda_base), "pypi" (@pypi, @pip, @pypi_base, @pip_base) and
"named_env" (@named_env, @named_env_base). A step (or the flow) may carry one decorator of
each family: its @conda and @pypi make one environment (Conda packages from the first, PyPI
ones from both), and @named_env names an environment the others' packages extend.
"""
import functools
import os
import re
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from packaging.utils import canonicalize_name

from ..errors import SpecError
from ..ids import ALIAS_GENERIC, ALIAS_PATHSPEC, check_alias_template
from ..spec import kind_of, parse_file
from ..spec.locked import LockedPypi
from ..spec.model import (INDEX_STRATEGIES, CondaDep, EnvSpec, Origins, PypiDep, PypiSources, check_source_url,
                          origins_of)
from ..kinds import Family
from .attributes import (  # noqa: F401  (re-exported: the rules' vocabulary)
    PYPI_EXTRAS,
    PYPI_EXTRAS_REFUSED,
    _DEFAULTS,
    DecoratorAttrs,
    defaults_for,
)

# Attributes that shape what a request holds (named in messages when set).
_CONTENT = ("libraries", "packages", "channels", "pip_packages", "pip_sources", "extra_indices",
            "sources", "python", "lockfile", "extras", "no_pypi", "conda_only", "requirements")

_CONDA_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_PYPI_KEY = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9_.,\s-]*\])?$")
_URL_VALUE = re.compile(r"^(git\+|hg\+|svn\+|bzr\+|[a-z][a-z0-9+.-]*://)")


@dataclass(frozen=True)
class StepEnvRequest:
    """The environment one step asks for. `spec` and `base` both set means: extend the
    environment named by `base` with the packages in `spec`."""

    step: str
    family: Family  # NAMED: only a named env, no package family
    disabled: bool  # run the step in the outer Python
    spec: Optional[EnvSpec]  # packages asked for (flow + step merged)
    base: Optional[str]  # `team/env[:tag]` or `Flow/run/step`, as written (may hold @{VAR})
    base_kind: Optional[str]  # "generic" | "pathspec"
    fetch_at_exec: bool  # look `base` up when the task starts (after @{VAR} substitution)
    no_pypi: bool = False  # no PyPI package: what Metaflow needs in the task comes from Conda too

    @property
    def extends(self) -> bool:
        return self.base is not None and self.spec is not None


# --------------------------------------------------------------------------------------
# One decorator's attributes → a validated, normalised part


@dataclass(frozen=True)
class _Part:
    where: str  # "@conda on step 'train'" — prefix of every message about this decorator
    label: str
    family: str
    conda: Dict[str, CondaDep]  # keyed by package name (no channel): same name → replaced
    pypi: Dict[str, PypiDep]  # keyed by canonical name
    channels: Tuple[str, ...]
    indices: Tuple[str, ...]
    python: Optional[str]  # a Conda version spec
    name: Optional[str]
    pathspec: Optional[str]
    fetch_at_exec: bool
    disabled: Optional[bool]
    given: Tuple[str, ...]  # the package attributes set to something (for messages)
    resolver: PypiSources  # from extras=[...]: the resolver options (pre-releases...)
    no_pypi: bool
    set_anything: bool  # the user set an attribute (a bare decorator enables nothing)
    locked: Optional[LockedPypi] = None  # from `lockfile`

    @property
    def base(self) -> Optional[str]:
        return self.name or self.pathspec

    @property
    def base_kind(self) -> Optional[str]:
        if self.name:
            return ALIAS_GENERIC
        return ALIAS_PATHSPEC if self.pathspec else None

    @property
    def has_content(self) -> bool:
        return bool(self.conda or self.pypi or self.channels or self.indices or self.python or self.locked)

    @property
    def has_options(self) -> bool:
        return self.resolver != PypiSources() or self.no_pypi


def _parse_part(where: str, label: str, family: str, attrs: Optional[Mapping[str, Any]],
                user_set: Iterable[str] = ()) -> _Part:
    if family not in tuple(Family):
        raise SpecError("%s: unknown decorator family '%s' (expected one of %s)."
                        % (where, family, ", ".join(Family)))
    attrs = dict(attrs or {})
    unknown = sorted(set(attrs) - set(_DEFAULTS[family]))
    if family == Family.CONDA and attrs.get("conda_only") not in (None, {}, False, "False"):
        raise SpecError("%s: conda_only is @pypi's dict of Conda packages (conda_only={'ffmpeg': ''}, as in "
                        "the reference extension); here, to keep PyPI out of the environment, write "
                        "no_pypi=True." % where)
    if unknown:
        raise SpecError("%s has no attribute %s: use %s." % (
            where, ", ".join("'%s'" % k for k in unknown), ", ".join(sorted(_DEFAULTS[family]))))

    def get(key: str) -> Any:
        return attrs.get(key, _DEFAULTS[family][key])

    name = _optional_str(where, "name", get("name"), "name='team/env:tag'")
    pathspec = _optional_str(where, "pathspec", get("pathspec"), "pathspec='MyFlow/12/train'")
    fetch_at_exec = _optional_bool(where, "fetch_at_exec", get("fetch_at_exec")) or False
    disabled = _optional_bool(where, "disabled", get("disabled")) if "disabled" in _DEFAULTS[family] else None
    no_pypi = bool(_optional_bool(where, "no_pypi", get("no_pypi"))) if family == Family.CONDA else False

    conda: Dict[str, CondaDep] = {}
    pypi: Dict[str, PypiDep] = {}
    channels: Tuple[str, ...] = ()
    indices: Tuple[str, ...] = ()
    python = None
    resolver = PypiSources()
    if family == Family.CONDA:
        conda = _conda_deps(where, "libraries", get("libraries"))
        for key, dep in _conda_deps(where, "packages", get("packages")).items():
            if key in conda:
                raise SpecError("%s lists '%s' in both libraries and packages: keep it in one of "
                                "them (they mean the same)." % (where, key))
            conda[key] = dep
        pypi = _pypi_deps(where, "pip_packages", get("pip_packages"))
        channels = _str_list(where, "channels", get("channels"), "channels=['conda-forge']")
        indices = _index_list(where, "pip_sources", get("pip_sources"))
    elif family == Family.PYPI:
        pypi = _pypi_deps(where, "packages", get("packages"))
        indices = _unique(_index_list(where, "extra_indices", get("extra_indices"))
                          + _index_list(where, "sources", get("sources")))
        resolver = _extras(where, get("extras"))
        conda = _conda_deps(where, "conda_only", get("conda_only"))
        from_file = _requirements(where, get("requirements"))
        if from_file is not None:
            # The file first: the decorator's own attributes win for a package both name.
            pypi = {**{d.name or str(d): d for d in from_file.pypi_deps}, **pypi}
            conda = {**{d.name: d for d in from_file.conda_deps}, **conda}
            channels = from_file.extra_channels
            resolver = from_file.pypi_sources.merged(resolver)
    if family != Family.NAMED:
        python = _python_attribute(where, get("python"))

    given = tuple(k for k in _CONTENT if k in attrs and attrs[k] not in (None, "", {}, [], False))
    set_anything = any(attrs.get(k) is not None for k in user_set) or bool(given or name or pathspec)
    locked = _locked(where, get) if family != Family.NAMED else None
    part = _Part(where, label, family, conda, pypi, channels, indices, python, name, pathspec,
                 fetch_at_exec, disabled, given, resolver, no_pypi, set_anything, locked)
    _check_part(part)
    return part


def _flow_relative(path: str) -> str:
    """`path` relative to the flow file (absolute paths as they are)."""
    return os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), os.path.expanduser(path))


def _requirements(where: str, value: Any) -> Optional[EnvSpec]:
    """The request of the requirements file `requirements` names (relative to the flow file):
    its PyPI packages, their indexes and options, and its `--conda-pkg` / `--conda-channel`
    lines."""
    name = _optional_str(where, "requirements", value, "requirements='requirements.txt'")
    if name is None:
        return None
    path = _flow_relative(name)
    if not os.path.isfile(path):
        raise SpecError("%s: requirements file '%s' not found (looked for %s, paths are relative to the flow "
                        "file)." % (where, name, path))
    try:
        spec = read_requirements(path, os.stat(path).st_mtime_ns)
    except SpecError as err:
        raise _located(where, "requirements", err) from None
    if spec.sys_packages or spec.pypi_constraints:
        raise SpecError("%s: requirements file %s has %s, which a decorator cannot carry: use "
                        "@sys_packages_base for virtual packages, and pin constraints in the file itself." % (
                            where, name, "--sys-pkg lines" if spec.sys_packages else "constraints (-c)"))
    return spec


@functools.lru_cache(maxsize=8)
def read_requirements(path: str, mtime_ns: int) -> EnvSpec:
    """Every step reads the flow's requirements file: once per content (`mtime_ns`) is enough."""
    return parse_file(path, "requirements")


def _locked(where: str, get: Callable[[str], Any]) -> Optional[LockedPypi]:
    """The lock `lockfile` names (relative to the flow file), with its `lock_extras` and
    `lock_groups`."""
    lockfile = _optional_str(where, "lockfile", get("lockfile"), "lockfile='uv.lock'")
    extras = _str_list(where, "lock_extras", get("lock_extras"), "lock_extras=['gpu']")
    groups = _str_list(where, "lock_groups", get("lock_groups"), "lock_groups=['train']")
    if lockfile is None:
        if extras or groups:
            raise SpecError("%s: lock_extras and lock_groups select from a lock file: add lockfile='uv.lock' "
                            "(or a pylock.toml)." % where)
        return None
    path = _flow_relative(lockfile)
    if not os.path.isfile(path):
        raise SpecError("%s: lockfile '%s' not found (looked for %s, paths are relative to the flow file)."
                        % (where, lockfile, path))
    try:
        return read_lockfile(path, os.stat(path).st_mtime_ns, extras, groups)
    except SpecError as err:
        raise _located(where, "lockfile", err) from None


@functools.lru_cache(maxsize=8)
def read_lockfile(path: str, mtime_ns: int, extras: Tuple[str, ...], groups: Tuple[str, ...]) -> Optional[LockedPypi]:
    """Every step reads the flow's lock: once per content (`mtime_ns`) is enough."""
    return parse_file(path, kind_of(path), extras, groups).pypi_locked


def _check_part(part: _Part) -> None:
    """Rules about one decorator on its own (3, 6 and named envs' own syntax)."""
    where = part.where
    if part.name and part.pathspec:
        raise SpecError("%s sets both name= and pathspec=: keep one (name= for a named "
                        "environment, pathspec= for the environment a step ran in)." % where)
    if part.base and (part.has_content or part.has_options):
        raise SpecError(
            "%s sets %s= together with %s: a named environment is used as it is, so only "
            "fetch_at_exec= can go with it. To add packages to it, name it on the flow "
            "(@named_env_base(%s=...)) or in @named_env on the step, and list the packages "
            "in a @conda/@pypi decorator." % (where, "name" if part.name else "pathspec",
                                              ", ".join(part.given), "name" if part.name else "pathspec"))
    if part.no_pypi and part.pypi:
        raise SpecError("%s sets no_pypi=True together with pip_packages (%s): drop no_pypi=True, "
                        "or ask for them as Conda packages (libraries={...})."
                        % (where, ", ".join(sorted(part.pypi))))
    if part.fetch_at_exec and not part.base:
        raise SpecError(
            "%s sets fetch_at_exec=True without name= or pathspec=: fetch_at_exec only applies "
            "to a named environment. Add name='team/env:tag' (or pathspec='MyFlow/12/train') to "
            "the same decorator, or drop fetch_at_exec." % where)
    if part.family == Family.NAMED and not part.base:
        raise SpecError("%s needs name='team/env[:tag]' or pathspec='MyFlow/run_id/step'." % where)
    if part.name:
        _check_alias(where, "name", part.name, ALIAS_GENERIC)
    if part.pathspec:
        _check_alias(where, "pathspec", part.pathspec, ALIAS_PATHSPEC)


def _check_alias(where: str, attr: str, value: str, kind: str) -> None:
    try:
        check_alias_template(value, kind)
    except SpecError as err:
        raise SpecError("%s, %s: %s" % (where, attr, err.message)) from None


def _optional_str(where: str, attr: str, value: Any, example: str) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SpecError("%s: %s must be a string, e.g. %s (got %r)." % (where, attr, example, value))
    return value.strip() or None


def _optional_bool(where: str, attr: str, value: Any) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    # `--with conda:disabled=True` reaches us as the string "True" (Metaflow's spec parser).
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SpecError("%s: %s must be True or False (got %r)." % (where, attr, value))


def _str_list(where: str, attr: str, value: Any, example: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    # A bare string is a common slip (`channels='conda-forge'`): iterating it gives letters.
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SpecError("%s: %s must be a list of strings, e.g. %s (got %r)." % (where, attr, example, value))
    return _unique(v.strip() for v in value)


# The attribute naming a decorator's indexes, for messages about where an index came from.
_INDEX_ATTRIBUTE = {Family.CONDA: "pip_sources", Family.PYPI: "extra_indices/sources"}


def _index_list(where: str, attr: str, value: Any) -> Tuple[str, ...]:
    urls = _str_list(where, attr, value, "%s=['https://my.index/simple']" % attr)
    for url in urls:
        try:
            check_source_url(url, "index")
        except SpecError as err:
            raise _located(where, attr, err) from None
    return urls


def _extras(where: str, value: Any) -> PypiSources:
    """The reference's extra resolver arguments (`pre`, `--pre`, `only-binary=:all:`...) as
    the resolver options they stand for; one message naming every one uv cannot honour."""
    options: Dict[str, Any] = {"pre": False, "no_binary": (), "only_binary": (), "index_strategy": None}
    problems = []
    for extra in _str_list(where, "extras", value, "extras=['pre']"):
        name, eq, arg = extra.lstrip("-").partition("=")
        name, arg = name.strip().lower().replace("_", "-"), arg.strip()
        if name == "pre" and not eq:
            options["pre"] = True
        elif name in ("only-binary", "no-binary") and arg:
            names = tuple(n if n.strip() == ":all:" else canonicalize_name(n) for n in arg.split(",") if n.strip())
            key = name.replace("-", "_")
            options[key] = _unique(options[key] + tuple(n.strip() for n in names))
        elif name == "index-strategy" and arg in INDEX_STRATEGIES:
            options["index_strategy"] = arg
        elif name in PYPI_EXTRAS_REFUSED:
            problems.append("'%s' cannot be honoured here: %s" % (extra, PYPI_EXTRAS_REFUSED[name]))
        else:
            problems.append("'%s' is not an extra uv can honour" % extra)
    if problems:
        raise SpecError("%s, extras: %s. The accepted ones are %s." % (
            where, "; ".join(problems), ", ".join("'%s' (%s)" % item for item in PYPI_EXTRAS.items())))
    return PypiSources(**options)


def _version_text(where: str, attr: str, key: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        # 1.10 as a float is 1.1: never guess what a number meant.
        raise SpecError("%s: the version of '%s' in %s must be a string such as '1.21' or "
                        "'>=1.21,<2' (got %r)." % (where, key, attr, value))
    return value.strip()


def _dict_attr(where: str, attr: str, value: Any) -> Dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError("%s: %s must be a dict of package name to version, e.g. "
                        "%s={'pandas': '>=1.4', 'numpy': ''} (got %r)." % (where, attr, attr, value))
    return dict(value)


def conda_dep_from_item(key: str, version: str) -> CondaDep:
    """`{"pandas": "1.4.2"}` pins 1.4.2; operators and wildcards (`>=1.4`, `1.4.*`, `=1.4`)
    are Conda version specs; "" means any version. Keys may be `channel::name`."""
    channel, sep, name = key.strip().rpartition("::")
    if not _CONDA_NAME.match(name) or (sep and not channel.strip()):
        raise SpecError("'%s' is not a Conda package name: write the name as the key and the "
                        "version as the value, e.g. {'pandas': '>=1.4'} or {'conda-forge::pandas': ''}."
                        % key)
    if name.lower() == "python":
        raise SpecError("python is not a package here: set python='3.10' on the decorator instead.")
    if version and version[0].isdigit() and not any(c in version for c in "*,| "):
        version = "==" + version  # a bare version pins it (not conda's fuzzy `=1.4`)
    return CondaDep.parse("%s %s" % (key.strip(), version) if version else key.strip())


def pypi_dep_from_item(key: str, version: str) -> PypiDep:
    """`{"requests": "2.31"}` pins 2.31 (`==2.31`); specifiers (`>=2`, `~=2.3`) and markers
    pass through; a URL value becomes `name @ URL`; "" means any version. Keys may carry
    extras: `requests[socks]`."""
    if not _PYPI_KEY.match(key.strip()):
        raise SpecError("'%s' is not a PyPI package name: write the name as the key and the "
                        "version as the value, e.g. {'requests': '>=2.31'} or "
                        "{'requests[socks]': ''}." % key)
    if canonicalize_name(_PYPI_KEY.match(key.strip()).group(1)) == "python":
        raise SpecError("python is not a package here: set python='3.10' on the decorator instead.")
    key = key.strip()
    if not version:
        text = key
    elif version[0] in "<>=!~;":
        text = key + version
    elif version[0] == "@":
        text = "%s %s" % (key, version)
    elif _URL_VALUE.match(version):
        text = "%s @ %s" % (key, version)
    elif version[0].isdigit():
        text = "%s==%s" % (key, version)
    else:
        raise SpecError("'%s' is not a version for PyPI package '%s': write e.g. '2.31' (exactly "
                        "that version), '>=2.31,<3', or a URL such as 'git+https://...'."
                        % (version, key))
    return PypiDep.parse(text)


def _deps(where: str, attr: str, value: Any, convert: Callable[[str, str], Any]) -> Iterator[Tuple[str, Any]]:
    """(key, dependency) for each `name: version` item of a package attribute."""
    for key, version in _dict_attr(where, attr, value).items():
        if not isinstance(key, str):
            raise SpecError("%s: package names in %s must be strings (got %r)." % (where, attr, key))
        try:
            dep = convert(key, _version_text(where, attr, key, version))
        except SpecError as err:
            raise _located(where, attr, err) from None
        yield key, dep


def _conda_deps(where: str, attr: str, value: Any) -> Dict[str, CondaDep]:
    return {dep.name: dep for _, dep in _deps(where, attr, value, conda_dep_from_item)}


def _pypi_deps(where: str, attr: str, value: Any) -> Dict[str, PypiDep]:
    return {dep.name or key.strip(): dep for key, dep in _deps(where, attr, value, pypi_dep_from_item)}


def python_version_spec(value: str) -> str:
    """`python="3.10"` is the 3.10 series (`3.10.*`); operators pass through (`>=3.9,<3.12`)."""
    value = value.strip()
    starts_with_operator = value[:1] in ("<", ">", "=", "!", "~")
    if not value[:1].isdigit() and not starts_with_operator:
        # Conda accepts letters in versions; for python they are always a mistake.
        raise SpecError("'%s' is not a Python version: write e.g. '3.10' (the 3.10 series), "
                        "'3.10.4' or '>=3.9,<3.12'." % value)
    # conda's fuzzy `=` makes a bare `3.10` the series `3.10.*`
    dep = CondaDep.parse(("python" if starts_with_operator else "python=") + value)
    return dep.version or value


def _python_attribute(where: str, value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SpecError("%s: python must be a string such as '3.10' (got %r; a number would turn "
                        "3.10 into 3.1)." % (where, value))
    try:
        return python_version_spec(value)
    except SpecError as err:
        raise _located(where, "python", err) from None


def _located(where: str, attr: str, err: SpecError) -> SpecError:
    return SpecError("%s, %s: %s" % (where, attr, err.message))


def _unique(items: Any) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def spec_from_attributes(family: str, attributes: Optional[Mapping[str, Any]],
                         label: Optional[str] = None) -> Optional[EnvSpec]:
    """The EnvSpec one decorator's attributes ask for, on their own (None for a decorator
    that only names an environment)."""
    label = label or "@" + family
    part = _parse_part(label, label, family, attributes)
    return None if part.base else _spec([part])


def _spec(parts: Sequence[_Part]) -> EnvSpec:
    """Merge parts, later ones winning for a package both name; channels and indices: the
    later part's first; python: the last one set."""
    conda: Dict[str, CondaDep] = {}
    pypi: Dict[str, PypiDep] = {}
    channels: Tuple[str, ...] = ()
    indices: Tuple[str, ...] = ()
    origins: Origins = ()
    python = None
    locked = None
    resolver = PypiSources()
    for part in parts:
        conda.update(part.conda)
        pypi.update(part.pypi)
        channels = _unique(part.channels + channels)
        indices = _unique(part.indices + indices)
        origins += origins_of(part.indices, "%s of %s" % (_INDEX_ATTRIBUTE[part.family], part.where))
        python = part.python or python
        locked = part.locked or locked
        resolver = resolver.merged(part.resolver)
    return EnvSpec(
        conda_deps=tuple(conda.values()),
        pypi_deps=tuple(pypi.values()),
        channels=channels,
        pypi_sources=replace(resolver, extra_index_urls=_unique(indices + resolver.extra_index_urls),
                             origins=origins + resolver.origins),
        python=python,
        pypi_locked=locked,
    )


# --------------------------------------------------------------------------------------
# One side (the flow or a step): at most one decorator of each family


def check_flow_decorators(decos: Sequence[DecoratorAttrs]) -> List[DecoratorAttrs]:
    """The flow's env decorators: @conda_base and @pypi_base may go together (one mixed
    environment); two of one kind, or @named_env_base with another, are errors."""
    _one_of_each_kind("The flow has", decos)
    named = [d for d in decos if d.family == Family.NAMED]
    if named and len(decos) > 1:
        raise SpecError(
            "The flow has %s: keep one of them — packages are added to a @named_env_base "
            "environment from the steps (@conda/@pypi on a step)." % " and ".join(d.label for d in decos))
    return _conda_first(decos)


def check_step_decorators(step_name: str, decos: Sequence[DecoratorAttrs]
                          ) -> Tuple[List[DecoratorAttrs], Optional[DecoratorAttrs]]:
    """(the step's @conda/@pypi-like decorators, Conda first; its @named_env-like one or None)."""
    _one_of_each_kind("Step '%s' has" % step_name, decos)
    named = [d for d in decos if d.family == Family.NAMED]
    return _conda_first([d for d in decos if d.family != Family.NAMED]), (named or [None])[0]


def _one_of_each_kind(who: str, decos: Sequence[DecoratorAttrs]) -> None:
    for family in Family:
        found = [d for d in decos if d.family == family]
        if len(found) > 1:
            raise SpecError("%s %s, two decorators of the same kind: keep one."
                            % (who, " and ".join(d.label for d in found)))


def _conda_first(decos: Sequence[DecoratorAttrs]) -> List[DecoratorAttrs]:
    return sorted(decos, key=lambda d: list(Family).index(d.family))


def _parts(where: str, decos: Sequence[DecoratorAttrs]) -> List[_Part]:
    return [_parse_part("%s %s" % (d.label, where), d.label, d.family, d.attributes, d.user_set)
            for d in decos]


def _combine(parts: Sequence[_Part], named_label: str) -> Optional[_Part]:
    """One part for a @conda and a @pypi on the same step (or flow): Conda packages and
    channels from the first, PyPI packages and indices from both. `named_label`: the
    decorator that names an environment there (for messages)."""
    if len(parts) <= 1:
        return parts[0] if parts else None
    conda, pypi = parts  # check_*_decorators: one of each family, Conda first
    if conda.python and pypi.python and conda.python != pypi.python:
        # As written (3.10 rather than 3.10.*: Metaflow's output drops asterisks).
        shown = [p.python[:-2] if p.python.endswith(".*") else p.python for p in parts]
        raise SpecError("%s asks for python='%s' but %s for python='%s': give the same version on both, "
                        "or set python= on one of them only." % (conda.where, shown[0], pypi.where, shown[1]))
    twice = sorted(set(conda.pypi) & set(pypi.pypi))
    if twice:
        raise SpecError("%s lists %s in pip_packages and %s in packages: keep each PyPI package in one "
                        "of them." % (conda.where, ", ".join("'%s'" % n for n in twice), pypi.where))
    if conda.no_pypi and pypi.pypi:
        raise _no_pypi_error(conda, pypi)
    twice = sorted(set(conda.conda) & set(pypi.conda))
    if twice:
        raise SpecError("%s lists %s in libraries and %s in conda_only: keep each Conda package in one "
                        "of them." % (conda.where, ", ".join("'%s'" % n for n in twice), pypi.where))
    if conda.locked is not None and pypi.locked is not None:
        raise SpecError("%s and %s both give a lockfile: keep it on one of them." % (conda.where, pypi.where))
    for named, other in ((conda, pypi), (pypi, conda)):
        if named.base and other.set_anything:
            raise SpecError(
                "%s names an environment, so %s cannot add to it: name it with %s(%s='%s') "
                "instead and keep the packages in %s." % (
                    named.where, other.where, named_label, "name" if named.name else "pathspec",
                    named.base, other.label))
    flags = (conda.disabled, pypi.disabled)
    return _Part(
        where="%s and %s" % (conda.label, pypi.where), label="%s and %s" % (conda.label, pypi.label),
        family=Family.CONDA, conda={**conda.conda, **pypi.conda}, pypi={**conda.pypi, **pypi.pypi},
        channels=_unique(conda.channels + pypi.channels), indices=_unique(conda.indices + pypi.indices),
        python=conda.python or pypi.python, name=conda.name or pypi.name,
        pathspec=conda.pathspec or pypi.pathspec, fetch_at_exec=conda.fetch_at_exec or pypi.fetch_at_exec,
        # disabled=True on either runs the step outside; False on either enables it.
        disabled=True if True in flags else (False if False in flags else None),
        given=conda.given + pypi.given, resolver=pypi.resolver, no_pypi=conda.no_pypi,
        set_anything=conda.set_anything or pypi.set_anything, locked=conda.locked or pypi.locked)


def _no_pypi_error(no_pypi: _Part, pypi: _Part) -> SpecError:
    return SpecError("%s sets no_pypi=True, but %s asks for PyPI packages (%s): drop no_pypi=True, "
                     "or ask for them as Conda packages (libraries={...})."
                     % (no_pypi.where, pypi.where, ", ".join(sorted(pypi.pypi))))


# --------------------------------------------------------------------------------------
# Combining the flow's side and the step's


def request_for_step(step_name: str, flow_decos: Sequence[DecoratorAttrs],
                     step_decos: Sequence[DecoratorAttrs]) -> Optional[StepEnvRequest]:
    """The whole rule set for one step: the env decorators on the flow and on the step →
    its request, or None when it has none at all. Raises SpecError naming what to change."""
    flow = _combine(_parts("on the flow", check_flow_decorators(flow_decos)), "@named_env_base")
    packages, named_deco = check_step_decorators(step_name, step_decos)
    on_step = "on step '%s'" % step_name
    step = _combine(_parts(on_step, packages), "@named_env")
    named = _parts(on_step, [named_deco])[0] if named_deco else None
    if step is None:
        step, named = named, None  # a lone @named_env is the step's decorator
    if flow is None and step is None:
        return None
    if named is not None and step is not None and step.base:
        raise SpecError(
            "Step '%s' names an environment in both %s and %s: keep the name in %s only."
            % (step_name, named.label, step.label, named.label))
    family = _result_family(flow, step)
    if step is not None and step.disabled:
        return _disabled(step_name, step.family)
    # Setting anything on the step decorator enables it, even under a disabled flow decorator
    # (disabled=None counts as unset); naming an environment always does.
    if step is None or not (step.set_anything or named is not None):
        # No step decorator or a bare one: the flow-level request as it is (if any).
        if flow is None:
            return _packages_request(step_name, family, [step])
        if flow.disabled:
            return _disabled(step_name, family)
        return _from_single(step_name, family, flow)

    # The step decorator has something set: it is enabled, whatever the flow says.
    base_part = named or (step if step.base else None)
    if base_part is None and flow is not None and flow.base and step.has_content:
        base_part = flow
    if base_part is not None and base_part is not step:
        # Extending: `base_part` names the environment, the step adds packages to it.
        if base_part.fetch_at_exec and step.has_content:
            raise SpecError(
                "Step '%s' adds packages (%s) to the environment named by %s with "
                "fetch_at_exec=True: an environment only known when the task starts cannot be "
                "extended. Drop fetch_at_exec, or put these packages into that named "
                "environment itself." % (step_name, step.label, _describe(base_part)))
        if not step.has_content:
            return _from_single(step_name, family, base_part)
        return _packages_request(step_name, family, [step], base_part)
    if step.base:
        return _from_single(step_name, family, step)
    if flow is not None and flow.base:
        # A step decorator without packages on a named flow env (e.g. only disabled=False).
        return _from_single(step_name, family, flow)
    return _packages_request(step_name, family, [flow, step] if flow is not None else [step])


def validate_flow_decorators(decos: Sequence[DecoratorAttrs]) -> None:
    """Flow-level rules on their own (for a flow decorator's flow_init): the flow's env
    decorators go together and their attributes are well formed."""
    request_for_step("", decos, [])


def _describe(part: _Part) -> str:
    return "%s(%s='%s')" % (part.label, "name" if part.name else "pathspec", part.base)


def _disabled(step_name: str, family: str) -> StepEnvRequest:
    return StepEnvRequest(step_name, family, True, None, None, None, False)


def _from_single(step_name: str, family: str, part: _Part) -> StepEnvRequest:
    if part.base:
        return StepEnvRequest(step_name, family, False, None, part.base, part.base_kind,
                              part.fetch_at_exec)
    return _packages_request(step_name, family, [part])


def _packages_request(step_name: str, family: str, parts: Sequence[_Part],
                      base: Optional[_Part] = None) -> StepEnvRequest:
    """The request for the packages of `parts` merged (later ones win), extending `base`."""
    no_pypi = [p for p in parts if p.no_pypi]
    with_pypi = [p for p in parts if p.pypi]
    if no_pypi and with_pypi:
        raise _no_pypi_error(no_pypi[0], with_pypi[0])
    return StepEnvRequest(step_name, family, False, _spec(parts), base.base if base else None,
                          base.base_kind if base else None, False, no_pypi=bool(no_pypi))


def _result_family(flow: Optional[_Part], step: Optional[_Part]) -> str:
    # The package family decides (Conda when a Conda decorator takes part); @named_env only
    # when nothing else is there.
    families = {p.family for p in (step, flow) if p is not None and p.family != Family.NAMED}
    if Family.CONDA in families:
        return Family.CONDA
    return families.pop() if families else Family.NAMED
