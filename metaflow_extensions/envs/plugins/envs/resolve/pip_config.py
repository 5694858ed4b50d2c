"""What pip's configuration (pip.conf, PIP_* variables) means for a PyPI request: it must mean
what it means to pip, as the user who wrote it runs pip too.

A request whose indexes come from pip's world (pip's configuration, requirements files, the
decorators, environment.yml) is filled in before hashing with pip's index-url (unless it names
its own), pip's extra-index-url, and the settings that change what pip installs: constraint,
find-links, trusted-host, pre, no-index, no-binary, only-binary. Its indexes are searched as pip
searches them: every index's candidates compared, the best taken (uv's `unsafe-best-match`).
A request whose indexes are declared the uv way (pyproject.toml's `[[tool.uv.index]]`...) is
read as uv reads it: uv's `first-index` rule, and pip's configuration does not apply (uv does
not read it either). METAFLOW_CONDA_PYPI_INDEX_STRATEGY overrides the rule. A pip setting that
changes what gets installed and is not applied is named in a warning, never dropped silently.
"""
import os
from dataclasses import replace
from typing import Dict, List, Optional, Tuple

from packaging.utils import canonicalize_name

from .. import settings
from ..auth import strip_credentials
from ..errors import SpecError
from ..plumbing.pip_config import PipSetting, pip_install_config
from ..spec.model import (
    DEFAULT_INDEX,
    INDEX_STRATEGIES,
    INDEX_STRATEGY_PIP,
    INDEX_STRATEGY_UV,
    EnvSpec,
    PypiSources,
    check_find_links,
    check_source_url,
    origins_of,
)
from ..spec.requirements_txt import error_reason, read_constraints

# Settings of pip that change what `pip install` installs and are not applied here: named in
# a warning when set (true, for the flags).
_NOT_APPLIED = ("prefer-binary", "no-deps", "require-hashes", "requirement", "editable", "ignore-requires-python",
                "platform", "python-version", "implementation", "abi", "config-settings", "global-option",
                "build-option", "uploaded-prior-to")
_FLAGS = ("pre", "no-index", "prefer-binary", "no-deps", "require-hashes", "ignore-requires-python")
# Settings of pip that this module applies to requests of pip's world.
_APPLIED = ("index-url", "extra-index-url", "constraint", "find-links", "trusted-host", "pre", "no-index",
            "no-binary", "only-binary")
_TRUE = ("y", "yes", "t", "true", "on", "1")  # pip's strtobool
_FALSE = ("n", "no", "f", "false", "off", "0")


def index_strategy_setting() -> Optional[str]:
    """METAFLOW_CONDA_PYPI_INDEX_STRATEGY (checked by the settings table: a typo must not mean uv's default)."""
    return settings.value("CONDA_PYPI_INDEX_STRATEGY")


def default_pypi_index() -> Tuple[str, Tuple[str, ...]]:
    """The index of a request that names none, and the extra indexes that come with it:
    METAFLOW_CONDA_DEFAULT_PYPI_SOURCE, else pip's index-url (PIP_INDEX_URL, pip.conf), else
    pypi.org; the extras are pip's extra-index-url."""
    sources = _pip_indexes(pip_install_config())
    return sources.index_url or DEFAULT_INDEX, sources.extra_index_urls


def _pip_indexes(pip: Dict[str, PipSetting]) -> PypiSources:
    """The default index and pip's extra indexes, with where each is set. Each value is
    checked here, to name where it was set: a typo must not leave uv to fall back to PyPI."""
    extras = pip.get("extra-index-url")
    extra_urls = tuple(check_source_url(u, extras.where) for u in extras.items) if extras else ()
    origins = origins_of(extra_urls, extras.where) if extras else ()
    index, where = _configured_index()
    pip_index = pip.get("index-url")
    if index is None and pip_index and pip_index.items:
        index, where = check_source_url(pip_index.items[-1], pip_index.where), pip_index.where
    return PypiSources(index_url=index or DEFAULT_INDEX, extra_index_urls=extra_urls,
                       origins=((index or DEFAULT_INDEX, where),) + origins)


def _configured_index() -> Tuple[Optional[str], str]:
    configured = settings.value("CONDA_DEFAULT_PYPI_SOURCE")  # checked: a URL
    if configured:
        return configured, "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE"
    return None, "the default index"


def with_pip_config(spec: EnvSpec) -> EnvSpec:
    """`spec` with pip's configuration applied as described above (idempotent: filling an
    already filled request changes nothing), its index strategy set, and a warning in
    `spec.warnings` for each pip setting not applied."""
    src = spec.pypi_sources
    declared_the_uv_way = src.uv_declared
    pip = pip_install_config()
    warnings: List[str] = []
    if declared_the_uv_way:
        ignored = [s for k, s in sorted(pip.items()) if k in _APPLIED + _NOT_APPLIED and _is_set(s)]
        if ignored:
            warnings.append("pip's configuration does not apply to a request whose indexes are declared the uv way "
                            "(as uv does not read it either): not applied: %s." % _named(ignored))
        if not (src.index_url or src.no_index):
            index, where = _configured_index()
            src = replace(src, index_url=index or DEFAULT_INDEX, origins=src.origins + ((index or DEFAULT_INDEX, where),))
    else:
        src = _with_pip_sources(src, pip)
        spec = replace(spec, pypi_constraints=tuple(dict.fromkeys(spec.pypi_constraints + _constraints(pip))))
        warnings += _not_applied(pip)
    rule = INDEX_STRATEGY_UV if declared_the_uv_way else INDEX_STRATEGY_PIP
    src = replace(src, index_strategy=index_strategy_setting() or src.index_strategy or rule)
    return replace(spec, pypi_sources=src, warnings=tuple(dict.fromkeys(spec.warnings + tuple(warnings))))


def _with_pip_sources(src: PypiSources, pip: Dict[str, PipSetting]) -> PypiSources:
    """`src` merged with pip's sources: pip's indexes unless the request names its own index
    (or none), pip's extras after the request's own; pip's other settings join the request's."""
    if not (src.index_url or src.no_index):
        if _flag(pip.get("no-index")):
            src = replace(src, no_index=True)
        else:
            indexes = _pip_indexes(pip)
            src = replace(src, index_url=indexes.index_url,
                          extra_index_urls=tuple(dict.fromkeys(src.extra_index_urls + indexes.extra_index_urls)),
                          origins=src.origins + indexes.origins)
    links = _find_links(pip.get("find-links"))
    hosts = pip["trusted-host"].items if "trusted-host" in pip else ()
    no_binary, only_binary = _binary_choices(pip)
    return replace(
        src, find_links=tuple(dict.fromkeys(src.find_links + links)),
        trusted_hosts=tuple(dict.fromkeys(src.trusted_hosts + hosts)),
        pre=src.pre or _flag(pip.get("pre")),
        no_binary=tuple(dict.fromkeys(src.no_binary + no_binary)),
        only_binary=tuple(dict.fromkeys(src.only_binary + only_binary)),
        origins=src.origins + (origins_of(links, pip["find-links"].where) if links else ()),
    )


def _find_links(setting: Optional[PipSetting]) -> Tuple[str, ...]:
    """pip's find-links, paths made absolute (pip reads them from the current directory; the
    request must not depend on it). A missing directory is skipped, as pip skips it."""
    if setting is None:
        return ()
    out = []
    for value in setting.items:
        if "://" not in value:
            value = os.path.abspath(os.path.expanduser(value))
            if not os.path.isdir(value):
                continue
        out.append(check_find_links(value, setting.where))
    return tuple(out)


def _constraints(pip: Dict[str, PipSetting]) -> Tuple[str, ...]:
    """The lines of pip's constraint files (read as `-c FILE` of a requirements file is)."""
    setting = pip.get("constraint")
    if setting is None:
        return ()
    out: List[str] = []
    for path in setting.items:
        if "://" in path:
            continue  # named in a warning by _not_applied
        try:
            out += read_constraints(os.path.abspath(os.path.expanduser(path)))
        except SpecError as err:
            raise SpecError("pip's configuration (%s): %s" % (setting.where, error_reason(err))) from None
    return tuple(out)


def _binary_choices(pip: Dict[str, PipSetting]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """pip's no-binary and only-binary as pip combines them (FormatControl): a name in one
    leaves the other, `:all:` empties the other, `:none:` empties its own."""
    no_binary: List[str] = []
    only_binary: List[str] = []
    for key, target, other in (("no-binary", no_binary, only_binary), ("only-binary", only_binary, no_binary)):
        setting = pip.get(key)
        for name in (setting.value.replace(",", " ").split() if setting else ()):
            if name == ":all:":
                other.clear()
                target[:] = [":all:"]
            elif name == ":none:":
                target.clear()
            else:
                name = canonicalize_name(name)
                if name in other:
                    other.remove(name)
                if name not in target:
                    target.append(name)
    return tuple(no_binary), tuple(only_binary)


def _not_applied(pip: Dict[str, PipSetting]) -> List[str]:
    ignored = [s for k, s in sorted(pip.items()) if k in _NOT_APPLIED and _is_set(s)]
    constraint = pip.get("constraint")
    out = []
    if ignored:
        out.append("pip's configuration sets what metaflow-envs does not apply, so environments may differ from "
                   "what pip installs here: %s." % _named(ignored))
    if constraint and any("://" in u for u in constraint.items):
        out.append("pip's constraint %s (%s) is a URL, which metaflow-envs does not read: save it to a file and "
                   "name that file." % (strip_credentials(" ".join(u for u in constraint.items if "://" in u)),
                                        constraint.where))
    return out


def _named(found: List[PipSetting]) -> str:
    """`key = value (where it is set)` of each, without the credentials a URL may hold."""
    return ", ".join("%s = %s (%s)" % (s.key, strip_credentials(s.value.strip()), s.where) for s in found)


def _is_set(setting: PipSetting) -> bool:
    return _flag_value(setting) if setting.key in _FLAGS else bool(setting.value.strip())


def _flag(setting: Optional[PipSetting]) -> bool:
    return setting is not None and bool(_flag_value(setting))


def _flag_value(setting: PipSetting) -> bool:
    value = setting.value.strip().lower()
    if value not in _TRUE + _FALSE:
        raise SpecError("pip's configuration sets %s to '%s' (%s): pip itself refuses that, write true or false."
                        % (setting.key, setting.value.strip(), setting.where))
    return value in _TRUE
