"""Resolution entry point: EnvSpec -> ResolvedEnvironment (Conda first, then PyPI on top)."""
import platform as _platform
import re
from dataclasses import replace
from typing import Callable, Iterable, List, Optional

from .. import settings
from ..auth import Credentials
from ..errors import ResolveError, SpecError
from ..kinds import PackageKind, PythonSource
from ..lock import LockedPackage, ResolvedEnvironment
from ..plumbing.cache import PackageCache
from ..plumbing.interpreters import find_interpreter, version_of
from ..spec.model import EnvSpec
from . import conda, pinned, pypi
from .mixed import pypi_provided_by
from .pip_config import with_pip_config
from .platforms import host_platform, platform_info, sys_packages_for
from .preferences import Preferences

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+")

# Given the Conda part of an environment alone (and the request's credentials and package
# cache), the path of a Python of it to build wheels with: making one is hydration's work, so
# whoever calls the resolver hands it in.
BuildPython = Callable[[ResolvedEnvironment, Credentials, PackageCache], str]


def with_defaults(spec: EnvSpec) -> EnvSpec:
    """Fill what the user left open, before hashing: the Python of the running interpreter
    (major.minor, as Metaflow runs the flow with it), where it comes from, the configured
    default channels (after the request's extra ones) and, for PyPI packages, what pip's
    configuration adds and how the indexes are searched (pip_config.py): two users whose pip
    configurations differ never share an environment unknowingly.
    The virtual packages declared for the target join the configured defaults (only those
    its OS has), so the lock records what it was resolved against."""
    allowed = settings.value("CONDA_ALL_ARCHS")
    if spec.platform not in allowed:
        raise SpecError("%s is not among the platforms of METAFLOW_CONDA_ALL_ARCHS (%s): add it there, or "
                        "resolve for one of those." % (spec.platform, ", ".join(allowed)))
    settings.value("CONDA_SYS_MARKERS")  # checked: uv sets a target's markers itself (settings_table)
    python = spec.python or "%s.*" % ".".join(_platform.python_version_tuple()[:2])
    channels = tuple(dict.fromkeys(spec.extra_channels + (spec.channels or tuple(settings.default_channels()))))
    spec = with_pip_config(spec) if spec.pypi_deps else spec
    return replace(spec, python=python, channels=channels, extra_channels=(),
                   python_source=spec.python_source or settings.python_source(),
                   sys_packages=sys_packages_for(spec.platform, spec.sys_packages))


def request_warnings(specs: Iterable[Optional[EnvSpec]]) -> List[str]:
    """What the requests' files and pip's configuration say that is not applied (the
    warnings `with_defaults` collects), once each, in order."""
    return list(dict.fromkeys(w for spec in specs if spec is not None for w in with_defaults(spec).warnings))


def spec_urls(spec: EnvSpec) -> List[str]:
    """Every URL of the request, direct-URL requirements included (whose credentials are
    needed again to build them, after uv has resolved them)."""
    src = spec.pypi_sources
    requirement_urls = [m.group(0) for dep in spec.pypi_deps for m in _URL.finditer(dep.requirement)]
    if spec.pypi_locked is not None:  # their hosts' credentials (netrc, settings) fetch the files
        requirement_urls += [f.url for e in spec.pypi_locked.entries for f in e.wheels]
    return list(spec.channels) + [u for u in [src.index_url, *src.extra_index_urls, *src.find_links] if u] + requirement_urls


def credentials_for(spec: EnvSpec) -> Credentials:
    """The credentials of one request: those inline in its own URLs, then configuration.
    Derived anew for each environment, never shared: two environments of one flow may use
    two private indexes."""
    return Credentials.from_environment(spec_urls(spec))


def resolve_environment(
    spec: EnvSpec,
    credentials: Optional[Credentials] = None,
    cache: Optional[PackageCache] = None,
    build_python: Optional[BuildPython] = None,
    prefer: Optional[Preferences] = None,
) -> ResolvedEnvironment:
    """Resolve `spec` for `spec.platform` into a lock with exact URLs and hashes. With Python
    from Conda, wheels are built from sources (sdists, git, local directories) with the
    interpreter `build_python` makes; `Environments.resolve` passes one, a bare call without it cannot
    build from sources. `prefer` (a previous lock's packages) keeps their versions where the
    request still allows them: only what must move moves."""
    spec = with_defaults(spec)
    prefer = prefer or Preferences()
    credentials = credentials or credentials_for(spec)
    cache = cache or PackageCache()
    target = platform_info(spec.platform, spec.sys_packages)
    channels = list(dict.fromkeys(list(spec.channels) + [d.channel for d in spec.conda_deps if d.channel]))
    conda_specs = [conda.match_spec(d) for d in spec.conda_deps]

    on_host = spec.platform == host_platform()
    if spec.python_source == PythonSource.SYSTEM:
        # For this machine: the exact version of the interpreter found here. For another
        # platform: its series (the target's machine provides the interpreter at create).
        interpreter = find_interpreter(spec.python)
        python_version = version_of(interpreter) if on_host else _series(version_of(interpreter))
        conda_pkgs = conda.solve(conda_specs, channels, target, credentials,
                                 prefer.kept(PackageKind.CONDA)) if conda_specs else []
        if any(p.name == "python" for p in conda_pkgs):
            raise ResolveError(
                "With METAFLOW_CONDA_PYTHON_SOURCE=system, Conda packages may not need Python "
                "(%s do): use METAFLOW_CONDA_PYTHON_SOURCE=conda." % ", ".join(d.name for d in spec.conda_deps)
            )
        python_source = PythonSource.SYSTEM
        python_for_builds = lambda: interpreter  # noqa: E731
    else:
        try:
            conda_pkgs = conda.solve(conda_specs + ["python %s" % spec.python], channels, target, credentials,
                                     prefer.kept(PackageKind.CONDA))
        except ResolveError as err:
            if conda_specs:
                raise
            raise ResolveError(err.message, "Only Python itself was asked of Conda here: with "
                               "METAFLOW_CONDA_PYTHON_SOURCE=system, a Python %s already on this machine is used "
                               "instead." % spec.python) from None
        python_version = conda.python_version_of(conda_pkgs) or ""
        python_source = PythonSource.CONDA
        python_for_builds = lambda: _conda_python(  # noqa: E731
            build_python, spec, conda_pkgs, python_version, credentials, cache)

    pypi_pkgs: List[LockedPackage] = []
    provided = pypi_provided_by(conda_pkgs)
    if spec.pypi_locked is not None:
        # Taken as locked; requirements on top (e.g. Metaflow's needs) are resolved around it.
        pypi_pkgs = pinned.resolve_locked(spec.pypi_locked, python_version, target, provided)
        provided.update((p.name, p.version) for p in pypi_pkgs)
    if spec.pypi_deps:
        from .build import make_builder  # here: loads the downloader, rarely needed to resolve

        if not on_host:  # a target's Python cannot run here: build (pure-Python only) with this machine's
            python_for_builds = lambda: find_interpreter(_series(python_version) + ".*")  # noqa: E731
        builder = make_builder(python_for_builds, python_version, spec, credentials, cache)
        pypi_pkgs += pypi.resolve(spec, python_version, target, credentials, provided, builder, prefer.kept(PackageKind.PYPI))
    return ResolvedEnvironment(
        spec=spec,
        packages=tuple(conda_pkgs + pypi_pkgs),
        python_version=python_version,
        python_source=python_source,
    )


def _series(version: str) -> str:
    """`3.11` of `3.11.7`."""
    return ".".join(version.split(".")[:2])


def _conda_python(
    build_python: Optional[BuildPython], spec: EnvSpec, conda_pkgs: List[LockedPackage], python_version: str,
    credentials: Credentials, cache: PackageCache,
) -> str:
    """The interpreter `build_python` makes of the Conda part alone, to build wheels with."""
    if build_python is None:
        raise ResolveError(
            "Building a wheel from sources needs the environment's Python from Conda, installed: "
            "resolve with `Environments().resolve(spec)` (plugins/envs/environments.py), which installs "
            "it, or pass `build_python` to resolve_environment, or use METAFLOW_CONDA_PYTHON_SOURCE=system."
        )
    conda_only = ResolvedEnvironment(
        spec=replace(spec, pypi_deps=()), packages=tuple(conda_pkgs), python_version=python_version
    )
    return build_python(conda_only, credentials, cache)
