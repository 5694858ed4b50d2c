"""PyPI resolution with uv for a target Python and platform.

uv compiles the request into a pylock.toml (PEP 751) for the *target* (`--python-platform`,
`--python-version`); we then pick, for each package, the wheel the target interpreter would
install (tags from `packaging`). Packages that only exist as sources (sdist, git, local
directory) are built into wheels here; for another platform only a pure-Python build (a
wheel whose tags the target accepts, `py3-none-any`) is kept, anything else is refused.

Python packages already provided by Conda (mixed environments) are passed to uv as exact
constraints backed by metadata-only stub wheels, so uv resolves around them (and fails if they
conflict) and they are never installed twice.
"""
import base64
import hashlib
import json
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

from packaging.utils import canonicalize_name, parse_wheel_filename

from .. import settings
from ..auth import Credentials, git_auth_env, strip_credentials
from ..errors import ResolveError, SpecError
from ..kinds import PackageKind
from ..lock import LockedPackage, ResolvedEnvironment
from ..plumbing.download import refusal_status
from ..plumbing.uv import run_uv
from ..plumbing.uv_commands import compile_args
from ..spec.locked import LockedFile
from ..spec.lockfiles.pylock import package_wheels
from ..spec.model import DEFAULT_INDEX, EnvSpec
from .pip_config import with_pip_config
from .platforms import PlatformInfo, best_wheel, host_platform, platform_info, wheel_filename_tags

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover - exercised on 3.9/3.10
    import tomli as tomllib  # type: ignore[no-redef]

_GIT_HTTP = re.compile(r"git\+(https?://\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class SourceToBuild:
    """A package uv resolved that has no wheel for the target."""

    name: str
    version: Optional[str]
    kind: str  # sdist | directory | vcs | archive
    location: str  # URL or path
    sha256: Optional[str] = None
    commit: Optional[str] = None
    why: str = ""  # why it is built, for the user: no wheel for the target's glibc...


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built from a source, as the lock records it."""

    filename: str
    sha256: str
    size: int
    source_sha256: str


# Builds a wheel for the host from a source (or finds it built before). Provided by the
# caller, who knows which interpreter the target environment will have.
WheelBuilder = Callable[[SourceToBuild], BuiltWheel]


def resolve(
    spec: EnvSpec,
    python_version: str,
    target: PlatformInfo,
    credentials: Credentials,
    provided: Optional[Dict[str, str]] = None,
    build_wheel: Optional[WheelBuilder] = None,
    prefer: Sequence[LockedPackage] = (),
) -> List[LockedPackage]:
    """Resolve `spec.pypi_deps` for `python_version` on `target`.

    `provided` maps PyPI names to the versions Conda already installs; the versions of
    `prefer` (a previous lock's) are kept where the requirements allow.
    """
    provided = {canonicalize_name(k): v for k, v in (provided or {}).items()}
    requirements = _requirements_not_provided(spec, provided)
    if not requirements:
        return []
    lines, git_env = _git_credentials_apart(requirements, credentials)
    with tempfile.TemporaryDirectory(prefix="mfenvs-uv-") as tmp:
        work = Path(tmp)
        (work / "requirements.in").write_text("\n".join(lines) + "\n")
        # uv keeps the versions its output file already pins (its own `-o` preferences).
        _write_preferences(work / "pylock.toml", prefer)
        args = _compile_args(python_version, target) + _binary_args(spec)
        if spec.pypi_no_deps:  # the file is a lock (pip-compile output): install exactly its lines
            args.append("--no-deps")
        # The user's constraints (-c FILE), and Conda's Python packages as exact pins.
        constraints = list(spec.pypi_constraints) + ["%s==%s" % item for item in sorted(provided.items())]
        if constraints:
            (work / "constraints.txt").write_text("".join(c + "\n" for c in constraints))
            args += ["--constraint", "constraints.txt"]
        if provided:
            stubs = work / "provided"
            stubs.mkdir()
            for name, version in provided.items():
                _write_stub_wheel(stubs, name, version)
            for name in sorted(provided):
                args += ["--no-emit-package", name]
        source_args, source_env = source_options(spec, credentials, work, [str(stubs)] if provided else [])
        try:
            run_uv(
                args + source_args,
                credentials,
                ResolveError,
                # uv's explanation names the packages involved: the whole list would bury it.
                "PyPI cannot resolve %s for Python %s on %s" % (_requirements_summary(requirements), python_version,
                                                                target.subdir),
                env={**target.uv_environment(), **source_env, **git_env},
                cwd=str(work),
            )
        except ResolveError as err:
            refused = _refusing_indexes(spec, requirements, credentials) if _NOT_FOUND in err.message else ""
            raise ResolveError(explain_indexes(err.message, spec) + refused, err.hint) from None
        entries = _compiled_packages(work)
    tags = target.wheel_tags(python_version)
    hashes = _allowed_hashes(spec, [entry for entry, _ in entries])
    locked: List[LockedPackage] = []
    for entry, wheels in entries:
        allowed = None if hashes is None else hashes[canonicalize_name(entry["name"])]
        wheel = best_wheel(wheels, tags, allowed)
        if wheel is not None:
            locked.append(_locked_wheel(entry["name"], wheel))
            continue
        if allowed is not None:
            _check_source_hash(entry, wheels, tags, allowed)
        source = _source_of(entry)
        source = replace(source, why=_why_built(source, target, python_version))
        what = "a source distribution" if source.kind == "sdist" else "a %s source" % source.kind
        if target.os == "osx" and source.kind == "sdist":
            _refuse_if_newer_macos_has_wheels(entry, spec, python_version, target, credentials)
        if build_wheel is None:
            raise ResolveError("PyPI package '%s' has no wheel for %s (Python %s), only %s, and nothing here can "
                               "build it." % (entry["name"], target.subdir, python_version, what))
        if target.subdir == host_platform():
            try:
                locked.append(_locked_built(source, build_wheel(source)))
            except ResolveError as err:
                raise ResolveError(err.message, _ways_out(source, target, python_version)) from None
            continue
        # Another platform: only a pure-Python build (tags the target accepts) can be kept.
        no_wheel = "PyPI package '%s' has no wheel for %s (Python %s), only %s" % (
            entry["name"], target.subdir, python_version, what)
        advice = "Pin a version that publishes wheels for %s%s, or resolve this environment on a %s machine." % (
            target.subdir, " (wheels count for macOS %s and older: METAFLOW_CONDA_OSX_VERSION sets it)"
            % target.system_version if target.os == "osx" else "", target.subdir)
        try:
            built = build_wheel(source)
        except ResolveError as err:
            raise ResolveError("%s, which could not be built here for another platform (%s). %s"
                               % (no_wheel, str(err).splitlines()[0], advice)) from None
        if not set(parse_wheel_filename(built.filename)[3]) & set(tags):
            raise ResolveError("%s; the wheel built from it here (%s) is for this machine: only pure-Python "
                               "packages can be built for another platform. %s" % (no_wheel, built.filename, advice))
        locked.append(_locked_built(source, built))
    return sorted(locked, key=lambda p: p.name)


def _compiled_packages(work: Path) -> List[Tuple[dict, Tuple[LockedFile, ...]]]:
    """Each [[packages]] table of the pylock.toml uv compiled in `work`, with its wheels read
    by the pylock reader; the table itself still tells the sources (sdist, directory, vcs,
    archive) a package without a wheel for the target is built from."""
    packages = tomllib.loads((work / "pylock.toml").read_text()).get("packages", [])
    return [(p, package_wheels(p, work, "uv's pylock.toml")) for p in packages]


def _system(target: PlatformInfo, origin: bool = True) -> str:
    """`glibc 2.17 (declared: __glibc==2.17)`: the system the target's wheels must fit, and
    (with `origin`) where that came from."""
    name, setting = ("__glibc", "METAFLOW_CONDA_GLIBC_VERSION") if target.is_linux else ("__osx", "METAFLOW_CONDA_OSX_VERSION")
    declared = dict(target.declared).get(name)
    system = "%s %s" % ("glibc" if target.is_linux else "macOS", target.system_version)
    if not origin:
        return system
    return "%s (%s)" % (system, "declared: %s==%s" % (name, declared) if declared else "%s, or its default" % setting)


def _why_built(source: SourceToBuild, target: PlatformInfo, python_version: str) -> str:
    """Why `source` is built here rather than a wheel installed, in the user's terms."""
    what = "%s %s" % (source.name, source.version or "")
    if source.kind == "directory":
        return "%s is a local directory" % source.location
    if source.kind == "vcs":
        return "%s comes from git" % what.strip()
    if source.kind == "archive":
        return "%s is a source archive named by URL" % what.strip()
    # (uv lists only the wheels the target takes: "none for the target" is all it tells)
    return "no wheel of %s for %s with Python %s and %s" % (what.strip(), target.subdir, python_version,
                                                             _system(target))


def _ways_out(source: SourceToBuild, target: PlatformInfo, python_version: str) -> str:
    """What the user can change when building `source` here fails."""
    if source.kind in ("directory", "vcs"):
        return "Fix the build of %s (its build backend's output is above), or point the requirement at a " \
               "version that builds." % source.name
    system = "__glibc" if target.is_linux else "__osx"
    return ("Ways out: pin a version of %s that publishes a wheel for %s (Python %s, %s); take %s from Conda "
            "instead (`--conda-pkg %s`, or @conda(libraries={\"%s\": ...}) in a flow); or declare the %s the "
            "machines really have (a `--sys-pkg %s==VERSION` line in requirements.txt, `sys:` in environment.yml, "
            "or @sys_packages in a flow)."
            % (source.name, target.subdir, python_version, _system(target, origin=False), source.name, source.name,
               source.name, system, system))


# uv names its own option; our users set it through the setting.
_UV_STRATEGY_ADVICE = re.compile(r"use `--index-strategy ([a-z-]+)`")


def explain_indexes(message: str, spec: EnvSpec) -> str:
    """uv's explanation of a failure, in the request's terms: each index it names followed by
    where that index was declared (pip.conf, a requirements file's line, a decorator), and
    the index rule in force and why, when uv's advice is to change it."""
    src = spec.pypi_sources
    text = _UV_STRATEGY_ADVICE.sub(r"set METAFLOW_CONDA_PYPI_INDEX_STRATEGY=\1", message)
    named: Dict[str, str] = {}
    for url, where in src.origins:  # the first declaration of each
        shown = strip_credentials(url).rstrip("/")
        if shown and shown in text:
            named.setdefault(shown, where)
    if named:
        text += "\nWhere these come from: %s." % "; ".join("%s is %s" % pair for pair in named.items())
    if "METAFLOW_CONDA_PYPI_INDEX_STRATEGY=" in text:
        text += ("\nThis request's indexes are searched by uv's %s rule, %s." % (
            src.index_strategy, "as they are declared the uv way" if src.uv_declared and not
            settings.value("CONDA_PYPI_INDEX_STRATEGY") else "as METAFLOW_CONDA_PYPI_INDEX_STRATEGY asks"))
    return text


# What uv says of a package no index gave it, an index that refused access included.
_NOT_FOUND = "was not found in the package registry"
_PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _refusing_indexes(spec: EnvSpec, requirements: Sequence[str], credentials: Credentials) -> str:
    """Why uv found nothing on an index: uv reads an index that refuses it (HTTP 401/403) as
    an index without the package, so a missing credential looks like a missing package. Each
    index is asked for the page of one requirement (small, unlike an index's root page)."""
    src = spec.pypi_sources
    name = next((m.group(0) for m in (_PROJECT_NAME.match(r) for r in requirements) if m), None)
    if src.no_index or not name:
        return ""
    urls = [*src.extra_index_urls, src.index_url or DEFAULT_INDEX]
    refused = [(strip_credentials(url), status) for url in urls
               for status in [refusal_status("%s/%s/" % (url.rstrip("/"), canonicalize_name(name)), credentials)]
               if status]
    if not refused:
        return ""
    return ("\n%s refused access (%s): give its credentials (METAFLOW_CONDA_SRCS_AUTH_INFO, user:password@ in "
            "the index URL, ~/.netrc, or a `keyring` backend with METAFLOW_CONDA_PYPI_KEYRING_PROVIDER=subprocess)."
            % (", ".join(url for url, _ in refused), ", ".join("HTTP %d" % status for _, status in refused)))


def _compile_args(python_version: str, target: PlatformInfo) -> List[str]:
    """`uv pip compile` of requirements.in into pylock.toml, for the target, by this Python."""
    return compile_args(python_version, target.uv_python_platform(), sys.executable)


# The newest macOS whose wheel tags `packaging` and uv know: asked for, uv lists every macOS
# wheel of a release, which tells which macOS version would take one.
_NEWEST_MACOS = "26.0"


def _refuse_if_newer_macos_has_wheels(entry: dict, spec: EnvSpec, python_version: str, target: PlatformInfo,
                                      credentials: Credentials) -> None:
    """A release without a wheel for the target's macOS, whose wheels need a newer one (scipy
    publishes macOS 12+ wheels only): building it from source is not what the user wants,
    raising METAFLOW_CONDA_OSX_VERSION is. Say which version would take a wheel."""
    newest = replace(target, system_version=_NEWEST_MACOS)
    with tempfile.TemporaryDirectory(prefix="mfenvs-uv-") as tmp:
        work = Path(tmp)
        (work / "requirements.in").write_text("%s==%s\n" % (entry["name"], entry.get("version")))
        source_args, source_env = source_options(spec, credentials, work)
        run_uv(_compile_args(python_version, newest) + ["--no-deps"] + source_args, credentials, ResolveError,
               "PyPI cannot list the wheels of %s %s" % (entry["name"], entry.get("version")),
               env={**newest.uv_environment(), **source_env}, cwd=str(work))
        probed = [wheels for _, wheels in _compiled_packages(work)]
    floor = _oldest_macos_with_a_wheel(probed, python_version, target)
    if floor is not None:
        raise ResolveError(
            "PyPI package '%s' %s has wheels for macOS %s and newer only, and this environment targets macOS %s "
            "(%s): set METAFLOW_CONDA_OSX_VERSION=%s (the oldest macOS your %s machines run), or pin a version "
            "with wheels for macOS %s." % (entry["name"], entry.get("version"), floor, target.system_version,
                                           target.subdir, floor, target.subdir, target.system_version))


def _oldest_macos_with_a_wheel(packages: List[Tuple[LockedFile, ...]], python_version: str,
                               target: PlatformInfo) -> Optional[str]:
    """The oldest `major.minor` macOS (named in the wheels' own tags) whose tags take one of
    the wheels of `packages`."""
    versions = set()
    for wheel in (w for wheels in packages for w in wheels):
        for tag in wheel_filename_tags(wheel.filename)[2]:
            match = re.match(r"macosx_(\d+)_(\d+)_", tag.platform)
            if match:
                versions.add((int(match.group(1)), int(match.group(2))))
    for major, minor in sorted(versions):
        version = "%d.%d" % (major, minor)
        if any(best_wheel(wheels, replace(target, system_version=version).wheel_tags(python_version))
               for wheels in packages):
            return version
    return None


def host_only_build_notes(env: ResolvedEnvironment) -> List[str]:
    """A note for each wheel built here from source whose tags the target does not promise
    (a `linux_x86_64` build in a manylinux environment, a macOS 14 build where macOS 11 is
    targeted): it runs on machines like this one, not on every machine of the target."""
    target = platform_info(env.arch, env.spec.sys_packages)
    tags = set(target.wheel_tags(env.python_version))
    promise = ("manylinux wheels for glibc %s (METAFLOW_CONDA_GLIBC_VERSION)" if target.is_linux
               else "wheels for macOS %s (METAFLOW_CONDA_OSX_VERSION)") % target.system_version
    return ["PyPI package '%s' %s was built here from source as %s, a wheel for machines like this one: the "
            "environment targets %s %s, so it may not run on other machines; pin a version that publishes such "
            "a wheel if they run this environment." % (p.name, p.version, p.filename, env.arch, promise)
            for p in env.pypi_packages() if p.built_from and not wheel_filename_tags(p.filename)[2] & tags]


def _write_preferences(path: Path, prefer: Sequence[LockedPackage]) -> None:
    """A pylock.toml naming only each preferred package and its version: all uv reads of an
    existing output file to prefer what it pins."""
    if not prefer:
        return
    entries = "".join("\n[[packages]]\nname = %s\nversion = %s\n" % (json.dumps(p.name), json.dumps(p.version))
                      for p in prefer)
    path.write_text('lock-version = "1.0"\ncreated-by = "metaflow-envs"\n' + entries)


def _requirements_summary(requirements: Sequence[str]) -> str:
    """`a, b, c` for a few requirements, `the 42 requirements` for many."""
    if len(requirements) <= 3:
        return ", ".join(strip_credentials(r) for r in requirements)
    return "the %d requirements" % len(requirements)


def _requirements_not_provided(spec: EnvSpec, provided: Dict[str, str]) -> List[str]:
    """Drop requirements Conda already satisfies; refuse ones that contradict Conda."""
    from packaging.requirements import Requirement

    out = []
    for dep in spec.pypi_deps:
        if dep.name and dep.name in provided and dep.hashes:
            raise ResolveError(
                "PyPI requirement '%s' has '--hash' values, but Conda installs %s %s, a file "
                "they cannot check: remove %s from the Conda packages, or its hashes." % (
                    strip_credentials(dep.requirement), dep.name, provided[dep.name], dep.name
                )
            )
        if dep.name and dep.name in provided:
            req = Requirement(dep.requirement)
            if req.url is None and req.specifier.contains(provided[dep.name], prereleases=True):
                continue
            raise ResolveError(
                "PyPI requirement '%s' contradicts Conda, which installs %s %s: relax the "
                "requirement or change the Conda package's version." % (
                    strip_credentials(dep.requirement), dep.name, provided[dep.name]
                )
            )
        out.append(dep.requirement)
    return out


def _git_credentials_apart(requirements: List[str], credentials: Credentials) -> Tuple[List[str], Dict[str, str]]:
    """Requirements for uv without the credentials of their git URLs, and the environment
    that gives them to git instead: uv would pass a git URL's `user:pass@` to git on its
    command line."""
    urls = [m.group(1) for r in requirements for m in _GIT_HTTP.finditer(r)]
    lines = [strip_credentials(r) if _GIT_HTTP.search(r) else r for r in requirements]
    return lines, git_auth_env(urls, credentials)


def source_options(
    spec: EnvSpec, credentials: Credentials, work: Path, local_links: Sequence[str] = ()
) -> Tuple[List[str], Dict[str, str]]:
    """uv arguments and environment for the spec's sources (plus `local_links`, directories
    of our own to find wheels in); writes `work/uv.toml`."""
    spec = with_pip_config(spec)  # a no-op for requests resolved through with_defaults
    max_age = settings.pypi_index_max_age()
    config, env = _index_config(spec, credentials, max_age)
    env.update(_find_links_env(spec, credentials, local_links))
    (work / "uv.toml").write_text(config)
    args = ["--config-file", str(work / "uv.toml"), *_source_args(spec)]
    if not max_age:
        args.append("--no-cache")  # a cached page keeps the lifetime it was stored with
    return args, env


def _index_config(spec: EnvSpec, credentials: Credentials, max_age: int) -> Tuple[str, Dict[str, str]]:
    """uv.toml text naming the spec's indexes, and the environment carrying their credentials.

    Indexes go through a config file rather than `--index-url` because only there can they
    have a freshness lifetime: indexes that send no caching headers (many mirrors and
    private indexes) would otherwise have every page fetched again on each resolution.
    Credentials go through uv's per-index variables, so they are never on disk nor on a
    command line.
    """
    src = spec.pypi_sources
    if src.no_index:
        return "", {}
    # Top-level keys come before the tables.
    strategy = "index-strategy = %s\n\n" % json.dumps(src.index_strategy) if src.index_strategy else ""
    freshness = 'cache-control = { api = "max-age=%d", files = "max-age=365000000, immutable" }\n' % max_age
    urls = [*src.extra_index_urls, src.index_url or DEFAULT_INDEX]  # uv's priority order
    config, env = [], {}
    for i, url in enumerate(urls):
        name = "index%d" % i
        config.append(
            "[[index]]\nname = %s\nurl = %s\n%s%s" % (
                json.dumps(name), json.dumps(strip_credentials(url)),
                "default = true\n" if i == len(urls) - 1 else "", freshness,
            )
        )
        pair = credentials.for_url(url)
        if pair:
            env["UV_INDEX_%s_USERNAME" % name.upper()], env["UV_INDEX_%s_PASSWORD" % name.upper()] = pair
    return strategy + "\n".join(config), env


def _find_links_env(spec: EnvSpec, credentials: Credentials, local_links: Sequence[str]) -> Dict[str, str]:
    """`UV_FIND_LINKS` for every find-links location. Through the environment, as uv has no
    per-location credential variables and a URL with `user:pass@` on uv's command line is
    visible to every user of the machine (/proc/*/cmdline). A `--find-links` flag would
    override the variable: all locations, ours included, go here."""
    links = list(local_links) + [credentials.with_userinfo(u) if "://" in u else u for u in spec.pypi_sources.find_links]
    for link in links:
        if "," in link:  # uv splits the variable on commas
            raise SpecError("The find-links location %s contains a comma: percent-encode it as %%2C."
                            % strip_credentials(link))
    return {"UV_FIND_LINKS": ",".join(links)} if links else {}


def _source_args(spec: EnvSpec) -> List[str]:
    """Sources other than indexes and find-links (see `_index_config`, `_find_links_env`)."""
    src = spec.pypi_sources
    args: List[str] = []
    for host in src.trusted_hosts:
        args += ["--allow-insecure-host", host]
    if src.pre:
        args += ["--prerelease", "allow"]
    if src.no_index:
        args += ["--no-index"]
    return args


def _binary_args(spec: EnvSpec) -> List[str]:
    """pip's no-binary / only-binary, for `uv pip compile` (uv build has no such options)."""
    src = spec.pypi_sources
    return [arg for name in src.no_binary for arg in ("--no-binary", name)] + [
        arg for name in src.only_binary for arg in ("--only-binary", name)]


def _allowed_hashes(spec: EnvSpec, entries: List[dict]) -> Optional[Dict[str, FrozenSet[str]]]:
    """pip's hash-checking mode: for each locked package, the sha256 of the files it may
    install; None when no requirement has a hash. Every package, dependencies included,
    must have hashes: one without would install a file nobody vouched for."""
    if not any(dep.hashes for dep in spec.pypi_deps):
        return None
    allowed = {dep.name: frozenset(dep.hashes) for dep in spec.pypi_deps if dep.name and dep.hashes}
    missing = ["%s==%s" % (canonicalize_name(e["name"]), e.get("version") or "<version>")
               for e in entries if canonicalize_name(e["name"]) not in allowed]
    if missing:
        raise ResolveError(
            "Hash-checking mode is on (requirements have '--hash'), but these packages have "
            "none: %s. Add each with its '--hash=sha256:...', as pip requires for every package, "
            "dependencies included." % ", ".join(missing)
        )
    return allowed


def _check_source_hash(entry: dict, wheels: Sequence[LockedFile], tags: Sequence, allowed: FrozenSet[str]) -> None:
    """No wheel has an allowed hash: before anything is built, the source archive must."""
    name = canonicalize_name(entry["name"])
    source = _source_of(entry) if any(k in entry for k in _SOURCE_KINDS) else None
    if source is not None and source.sha256 in allowed:
        return
    wheel = best_wheel(wheels, tags)
    if wheel is not None:
        filename, sha256 = wheel.filename, wheel.sha256 or None
    elif source is None:
        return  # nothing installable at all: the caller's _source_of says so
    elif source.sha256 is None:
        raise ResolveError(
            "PyPI package '%s' comes from a %s source, which has no file hash to check against "
            "its '--hash' values: point it at a wheel or an sdist archive (name @ https://...), "
            "or remove its hashes." % (name, source.kind)
        )
    else:
        filename, sha256 = source.location.rsplit("/", 1)[-1], source.sha256
    raise ResolveError(
        "PyPI package '%s': %s has sha256 %s, which is not among the hashes given for it (%s): "
        "check its '--hash' values, or whether the index serves other files than those hashed."
        % (name, strip_credentials(filename), sha256, ", ".join("sha256:" + h for h in sorted(allowed)))
    )


def _locked_wheel(name: str, wheel: LockedFile) -> LockedPackage:
    filename, sha256 = wheel.filename, wheel.sha256
    _, version, _, wtags = parse_wheel_filename(filename)
    if not sha256:
        raise ResolveError(
            "The index gave no sha256 for %s: use an index that publishes hashes." % filename
        )
    return LockedPackage(
        kind=PackageKind.PYPI,
        name=canonicalize_name(name),
        version=str(version),
        build=_tag_string(filename),
        filename=filename,
        url=strip_credentials(wheel.url),
        sha256=sha256,
        size=wheel.size,
    )


def _tag_string(filename: str) -> str:
    """`py3-none-any` from `name-1.0-py3-none-any.whl`."""
    return "-".join(filename[: -len(".whl")].split("-")[-3:])


_SOURCE_KINDS = ("sdist", "directory", "vcs", "archive")


def _source_of(entry: dict) -> SourceToBuild:
    name = canonicalize_name(entry["name"])
    version = entry.get("version")
    if "sdist" in entry:
        sdist = entry["sdist"]
        return SourceToBuild(name, version, "sdist", sdist.get("url") or sdist.get("path"),
                             (sdist.get("hashes") or {}).get("sha256"))
    if "directory" in entry:
        return SourceToBuild(name, version, "directory", entry["directory"]["path"])
    if "vcs" in entry:
        vcs = entry["vcs"]
        return SourceToBuild(name, version, "vcs", vcs.get("url") or vcs.get("path"),
                             commit=vcs.get("commit-id"))
    if "archive" in entry:
        archive = entry["archive"]
        return SourceToBuild(name, version, "archive", archive.get("url") or archive.get("path"),
                             (archive.get("hashes") or {}).get("sha256"))
    raise ResolveError("PyPI package '%s' has neither a wheel nor a source to build." % name)


def _locked_built(source: SourceToBuild, wheel: BuiltWheel) -> LockedPackage:
    _, version, _, _ = parse_wheel_filename(wheel.filename)
    origin = strip_credentials(source.location + ("@" + source.commit if source.commit else ""))
    return LockedPackage(
        kind=PackageKind.PYPI,
        name=source.name,
        version=str(version),
        build=_tag_string(wheel.filename),
        filename=wheel.filename,
        url=origin,
        sha256=wheel.sha256,
        size=wheel.size,
        built_from=origin,
        source_sha256=wheel.source_sha256,
    )


def _write_stub_wheel(directory: Path, name: str, version: str) -> Path:
    """A metadata-only wheel standing for a package Conda provides (never installed)."""
    dist = "%s-%s" % (name.replace("-", "_"), version)
    files = {
        "%s.dist-info/METADATA" % dist: "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version),
        "%s.dist-info/WHEEL" % dist: "Wheel-Version: 1.0\nGenerator: metaflow-envs\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    path = directory / ("%s-py3-none-any.whl" % dist)
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
            record.append("%s,sha256=%s,%d" % (member, digest.decode(), len(text)))
        record.append("%s.dist-info/RECORD,," % dist)
        archive.writestr("%s.dist-info/RECORD" % dist, "\n".join(record) + "\n")
    return path
