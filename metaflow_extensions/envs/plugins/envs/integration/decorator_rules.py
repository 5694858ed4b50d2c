"""What a step asks for, from its decorators' attributes: the pure rules, no Metaflow.

The Metaflow decorator classes (decorators.py) only collect their attributes and call
`request_for_step` / `merge_request`; every rule about how flow- and step-level decorators
combine lives here so it can be tested without a flow. The result, `StepEnvRequest`, is what
the environment object orchestrates (resolve, alias lookup, hydrate).

Families: "conda" (@conda, @conda_base), "pypi" (@pypi, @pip, @pypi_base, @pip_base) and
"named_env" (@named_env, @named_env_base), which is neutral: it combines with either.
"""
import functools
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.utils import canonicalize_name

from ..errors import SpecError
from ..ids import ALIAS_GENERIC, ALIAS_PATHSPEC, check_alias_template
from ..spec import kind_of, parse_file
from ..spec.locked import LockedPypi
from ..spec.model import CondaDep, EnvSpec, PypiDep, PypiSources, check_source_url
from .attributes import (  # noqa: F401  (re-exported: the rules' vocabulary)
    FAMILIES,
    FAMILY_CONDA,
    FAMILY_NAMED,
    FAMILY_PYPI,
    _DEFAULTS,
    DecoratorAttrs,
    defaults_for,
)

# Attributes that put packages (content) into a request, per family.
_CONTENT = ("libraries", "packages", "channels", "pip_packages", "pip_sources", "extra_indices",
            "sources", "python", "lockfile")

_CONDA_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_PYPI_KEY = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9_.,\s-]*\])?$")
_URL_VALUE = re.compile(r"^(git\+|hg\+|svn\+|bzr\+|[a-z][a-z0-9+.-]*://)")


@dataclass(frozen=True)
class StepEnvRequest:
    """The environment one step asks for. `spec` and `base` both set means: extend the
    environment named by `base` with the packages in `spec`."""

    step: str
    family: str  # "conda" | "pypi" | "named_env" (only a named env, no package family)
    disabled: bool  # run the step in the outer Python
    spec: Optional[EnvSpec]  # packages asked for (flow + step merged)
    base: Optional[str]  # `team/env[:tag]` or `Flow/run/step`, as written (may hold @{VAR})
    base_kind: Optional[str]  # "generic" | "pathspec"
    fetch_at_exec: bool  # look `base` up when the task starts (after @{VAR} substitution)

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


def _parse_part(where: str, label: str, family: str, attrs: Optional[Mapping[str, Any]]) -> _Part:
    if family not in FAMILIES:
        raise SpecError("%s: unknown decorator family '%s' (expected one of %s)."
                        % (where, family, ", ".join(FAMILIES)))
    attrs = dict(attrs or {})
    unknown = sorted(set(attrs) - set(_DEFAULTS[family]))
    if unknown:
        raise SpecError("%s has no attribute %s: use %s." % (
            where, ", ".join("'%s'" % k for k in unknown), ", ".join(sorted(_DEFAULTS[family]))))

    def get(key: str) -> Any:
        return attrs.get(key, _DEFAULTS[family][key])

    name = _optional_str(where, "name", get("name"), "name='team/env:tag'")
    pathspec = _optional_str(where, "pathspec", get("pathspec"), "pathspec='MyFlow/12/train'")
    fetch_at_exec = _optional_bool(where, "fetch_at_exec", get("fetch_at_exec")) or False
    disabled = _optional_bool(where, "disabled", get("disabled")) if "disabled" in _DEFAULTS[family] else None

    conda: Dict[str, CondaDep] = {}
    pypi: Dict[str, PypiDep] = {}
    channels: Tuple[str, ...] = ()
    indices: Tuple[str, ...] = ()
    python = None
    if family == FAMILY_CONDA:
        conda = _conda_deps(where, "libraries", get("libraries"))
        for key, dep in _conda_deps(where, "packages", get("packages")).items():
            if key in conda:
                raise SpecError("%s lists '%s' in both libraries and packages: keep it in one of "
                                "them (they mean the same)." % (where, key))
            conda[key] = dep
        pypi = _pypi_deps(where, "pip_packages", get("pip_packages"))
        channels = _str_list(where, "channels", get("channels"), "channels=['conda-forge']")
        indices = _index_list(where, "pip_sources", get("pip_sources"))
    elif family == FAMILY_PYPI:
        pypi = _pypi_deps(where, "packages", get("packages"))
        indices = _unique(_index_list(where, "extra_indices", get("extra_indices"))
                          + _index_list(where, "sources", get("sources")))
    if family != FAMILY_NAMED:
        python = _python_attribute(where, get("python"))

    given = tuple(k for k in _CONTENT if k in attrs and attrs[k] not in (None, "", {}, []))
    locked = _locked(where, get) if family != FAMILY_NAMED else None
    part = _Part(where, label, family, conda, pypi, channels, indices, python, name, pathspec,
                 fetch_at_exec, disabled, given, locked)
    _check_part(part)
    return part


def _locked(where: str, get: Callable[[str], Any]) -> Optional[LockedPypi]:
    """The lock `lockfile` names (relative to the flow file), with its `extras` and `groups`."""
    lockfile = _optional_str(where, "lockfile", get("lockfile"), "lockfile='uv.lock'")
    extras = _str_list(where, "extras", get("extras"), "extras=['gpu']")
    groups = _str_list(where, "groups", get("groups"), "groups=['train']")
    if lockfile is None:
        if extras or groups:
            raise SpecError("%s: extras and groups select from a lock file: add lockfile='uv.lock' (or a "
                            "pylock.toml)." % where)
        return None
    path = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), os.path.expanduser(lockfile))
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
    if part.base and part.has_content:
        raise SpecError(
            "%s sets %s= together with %s: a named environment is used as it is, so only "
            "fetch_at_exec= can go with it. To add packages to it, name it on the flow "
            "(@named_env_base(%s=...)) or in @named_env on the step, and list the packages "
            "in a @conda/@pypi decorator." % (where, "name" if part.name else "pathspec",
                                              ", ".join(part.given), "name" if part.name else "pathspec"))
    if part.fetch_at_exec and not part.base:
        raise SpecError(
            "%s sets fetch_at_exec=True without name= or pathspec=: fetch_at_exec only applies "
            "to a named environment. Add name='team/env:tag' (or pathspec='MyFlow/12/train') to "
            "the same decorator, or drop fetch_at_exec." % where)
    if part.family == FAMILY_NAMED and not part.base:
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


def _index_list(where: str, attr: str, value: Any) -> Tuple[str, ...]:
    urls = _str_list(where, attr, value, "%s=['https://my.index/simple']" % attr)
    for url in urls:
        try:
            check_source_url(url, "index")
        except SpecError as err:
            raise _located(where, attr, err) from None
    return urls


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
    python = None
    locked = None
    for part in parts:
        conda.update(part.conda)
        pypi.update(part.pypi)
        channels = _unique(part.channels + channels)
        indices = _unique(part.indices + indices)
        python = part.python or python
        locked = part.locked or locked
    return EnvSpec(
        conda_deps=tuple(conda.values()),
        pypi_deps=tuple(pypi.values()),
        channels=channels,
        pypi_sources=PypiSources(extra_index_urls=indices),
        python=python,
        pypi_locked=locked,
    )


# --------------------------------------------------------------------------------------
# Combining the decorators of a flow and a step


def _flow_label(family: str) -> str:
    return "@%s_base" % family


def merge_request(
    step_name: str,
    flow_attrs: Optional[Mapping[str, Any]],
    flow_family: Optional[str],
    step_attrs: Optional[Mapping[str, Any]],
    step_family: Optional[str],
    step_user_set: Set[str],
    *,
    named_attrs: Optional[Mapping[str, Any]] = None,
    flow_label: Optional[str] = None,
    step_label: Optional[str] = None,
    named_label: Optional[str] = None,
) -> Optional[StepEnvRequest]:
    """The request of `step_name` from the flow-level env decorator (`flow_attrs`, None if
    none) and the step's env decorator (`step_attrs`, None if none; `step_user_set`: the
    attributes the user set on it). `named_attrs`: a step-level @named_env next to a
    @conda/@pypi on the same step (its name becomes `base`, the other's packages extend it).
    Labels (`@conda`...) only change messages. Raises SpecError naming what to change."""
    flow = step = named = None
    if flow_attrs is not None and flow_family is not None:
        flow_label = flow_label or _flow_label(flow_family)
        flow = _parse_part("%s on the flow" % flow_label, flow_label, flow_family, flow_attrs)
    if step_attrs is not None and step_family is not None:
        step_label = step_label or "@" + step_family
        step = _parse_part("%s on step '%s'" % (step_label, step_name), step_label, step_family, step_attrs)
    if named_attrs is not None:
        named_label = named_label or "@named_env"
        named = _parse_part("%s on step '%s'" % (named_label, step_name), named_label, FAMILY_NAMED,
                            named_attrs)
        if step is None or step.family == FAMILY_NAMED:
            step, named = named, None  # a lone @named_env is the step's decorator
    if flow is None and step is None:
        return None
    if step is not None and flow is not None:
        _check_families(step_name, flow, step)
    if named is not None and step is not None and step.base:
        raise SpecError(
            "Step '%s' names an environment in both %s and %s: keep the name in %s only."
            % (step_name, named.label, step.label, named.label))

    family = _result_family(flow, step)
    if step is not None and step.disabled:
        return _disabled(step_name, step.family)
    # Setting anything on the step decorator enables it, even under a disabled flow decorator
    # (disabled=None counts as unset); naming an environment always does.
    step_set = step is not None and (
        any((step_attrs or {}).get(k) is not None for k in step_user_set)
        or step.has_content or step.base is not None or named is not None)
    if step is None or not step_set:
        # No step decorator or a bare one: the flow-level request as it is (if any).
        if flow is None:
            return StepEnvRequest(step_name, family, False, _spec([step]), None, None, False)
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
        return StepEnvRequest(step_name, family, False, _spec([step]), base_part.base,
                              base_part.base_kind, False)
    if step.base:
        return _from_single(step_name, family, step)
    if flow is not None and flow.base:
        # A step decorator without packages on a named flow env (e.g. only disabled=False).
        return _from_single(step_name, family, flow)
    parts = [flow, step] if flow is not None else [step]
    return StepEnvRequest(step_name, family, False, _spec(parts), None, None, False)


def _describe(part: _Part) -> str:
    return "%s(%s='%s')" % (part.label, "name" if part.name else "pathspec", part.base)


def _disabled(step_name: str, family: str) -> StepEnvRequest:
    return StepEnvRequest(step_name, family, True, None, None, None, False)


def _from_single(step_name: str, family: str, part: _Part) -> StepEnvRequest:
    if part.base:
        return StepEnvRequest(step_name, family, False, None, part.base, part.base_kind,
                              part.fetch_at_exec)
    return StepEnvRequest(step_name, family, False, _spec([part]), None, None, False)


def _result_family(flow: Optional[_Part], step: Optional[_Part]) -> str:
    # The package family decides; @named_env only when nothing else is there.
    for part in (step, flow):
        if part is not None and part.family != FAMILY_NAMED:
            return part.family
    return FAMILY_NAMED


def _check_families(step_name: str, flow: _Part, step: _Part) -> None:
    if FAMILY_NAMED in (flow.family, step.family) or flow.family == step.family:
        return
    if step.family == FAMILY_CONDA:
        raise SpecError(
            "Step '%s' uses %s but the flow uses %s: a step's Conda packages cannot be added to "
            "a PyPI-only flow environment. Use @conda_base(pip_packages={...}) on the flow "
            "instead of %s." % (step_name, step.label, flow.label, flow.label))
    raise SpecError(
        "Step '%s' uses %s but the flow uses %s: write the step's packages as "
        "@conda(pip_packages={...}) instead of %s(packages={...})."
        % (step_name, step.label, flow.label, step.label))


# --------------------------------------------------------------------------------------
# Several decorators on one flow or step


def check_flow_decorators(decos: Sequence[DecoratorAttrs]) -> Optional[DecoratorAttrs]:
    """The flow's one env decorator (None if none); two of them is an error."""
    if len(decos) <= 1:
        return decos[0] if decos else None
    labels = " and ".join(d.label for d in decos)
    if len({d.family for d in decos}) == 1:
        raise SpecError("The flow has %s, two decorators of the same kind: keep one." % labels)
    raise SpecError(
        "The flow has %s: keep one flow-level environment decorator — @conda_base(libraries="
        "{...}, pip_packages={...}) holds Conda and PyPI packages together, and packages can "
        "be added to a @named_env_base environment from the steps." % labels)


def validate_flow_decorators(decos: Sequence[DecoratorAttrs]) -> None:
    """Flow-level rules on their own (for a flow decorator's flow_init): at most one env
    decorator on the flow, and its attributes well formed."""
    flow = check_flow_decorators(decos)
    if flow is not None:
        merge_request("", flow.attributes, flow.family, None, None, set(), flow_label=flow.label)


def check_step_decorators(step_name: str, decos: Sequence[DecoratorAttrs]
                          ) -> Tuple[Optional[DecoratorAttrs], Optional[DecoratorAttrs]]:
    """(the step's @conda/@pypi-like decorator, its @named_env-like one); each may be None."""
    by_family: Dict[str, List[DecoratorAttrs]] = {}
    for deco in decos:
        by_family.setdefault(deco.family, []).append(deco)
    for family, found in by_family.items():
        if len(found) > 1:
            raise SpecError("Step '%s' has %s, two decorators of the same kind: keep one."
                            % (step_name, " and ".join(d.label for d in found)))
    conda, pypi = by_family.get(FAMILY_CONDA), by_family.get(FAMILY_PYPI)
    if conda and pypi:
        raise SpecError(
            "Step '%s' has both %s and %s: use one decorator, @conda(libraries={...}, "
            "pip_packages={...}), to get Conda and PyPI packages together."
            % (step_name, conda[0].label, pypi[0].label))
    main = (conda or pypi or [None])[0]
    named = (by_family.get(FAMILY_NAMED) or [None])[0]
    return main, named


def request_for_step(step_name: str, flow_decos: Sequence[DecoratorAttrs],
                     step_decos: Sequence[DecoratorAttrs]) -> Optional[StepEnvRequest]:
    """The whole rule set for one step: the env decorators on the flow and on the step (any
    number; conflicts are errors) → its request, or None when it has none at all."""
    flow = check_flow_decorators(flow_decos)
    main, named = check_step_decorators(step_name, step_decos)
    if main is None and named is not None:
        main, named = named, None
    return merge_request(
        step_name,
        flow.attributes if flow else None,
        flow.family if flow else None,
        main.attributes if main else None,
        main.family if main else None,
        set(main.user_set) if main else set(),
        named_attrs=named.attributes if named else None,
        flow_label=flow.label if flow else None,
        step_label=main.label if main else None,
        named_label=named.label if named else None,
    )
