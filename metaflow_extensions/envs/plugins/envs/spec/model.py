"""EnvSpec: what the user asked for. Pure data, no I/O; its canonical hash is the req_id."""
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, Optional, Tuple
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import SpecError
from ..ids import CONDA_PLATFORMS
from ..kinds import PythonSource
from ..plumbing.cache import is_sha256
from .locked import LockedPypi

ENV_TYPE_CONDA = "conda-only"
ENV_TYPE_PYPI = "pypi-only"
ENV_TYPE_MIXED = "mixed"

_CONDA_NAME = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*?)\s*$")
_OPERATOR_START = ("<", ">", "!", "~", "=")
_BUILD_PIN = re.compile(r"[^<>!=~]=")  # the second `=` of `1.2=py_0`, not part of `>=`


def _normalize_conda_version(text: str, what: str) -> Optional[str]:
    """Turn the version part of `pkg=1.2`, `pkg==1.2`, `pkg>=1`, `pkg = >=1`, `pkg=>=1`
    into a conda version spec (`1.2.*`, `==1.2`, `>=1`)."""
    text = text.replace(" ", "")
    if not text:
        return None
    if text.startswith("=") and not text.startswith("=="):
        rest = text[1:]
        if not rest:
            raise SpecError(
                "Missing version after '=' for %s: write e.g. '=1.2' or '>=1.2', or drop "
                "the '='." % what
            )
        if _BUILD_PIN.search(rest) and not rest.startswith(_OPERATOR_START):
            # `pkg=1.2=build` pins a build string, which we do not support
            raise SpecError(
                "Build strings are not supported for %s ('=%s'): write only the version, "
                "e.g. '=%s'." % (what, rest, rest.split("=", 1)[0])
            )
        if rest.startswith(_OPERATOR_START):
            text = rest  # `pkg=>=1.0` and `pkg = >=1.0` mean `pkg>=1.0`
        else:
            # conda's `pkg=1.2` is a fuzzy match on the 1.2 series
            text = rest if rest.endswith("*") or "," in rest or "|" in rest else rest + ".*"
    _check_conda_version(text, what)
    return text


_PLAIN_VERSION = re.compile(r"^\d+(\.\d+)*(\.\*)?$")  # 3.11, 3.11.7, 3.11.*


def _check_conda_version(version: str, what: str) -> None:
    if _PLAIN_VERSION.match(version):
        return  # valid as it stands: no need to load rattler's parser (~0.04 s)
    from rattler import VersionSpec  # no I/O: only the parser

    try:
        VersionSpec(version)
    except Exception:
        raise SpecError(
            "Malformed version '%s' for %s: use a Conda version spec such as "
            "'1.2', '>=1.2,<2' or '1.2.*'." % (version, what)
        ) from None


@dataclass(frozen=True, order=True)
class CondaDep:
    """A Conda package request: `[channel::]name [version]`."""

    name: str
    version: Optional[str] = None
    channel: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> "CondaDep":
        raw = text.strip()
        channel = None
        if "::" in raw:
            channel, raw = (p.strip() for p in raw.split("::", 1))
            if not channel:
                raise SpecError("Empty channel in Conda dependency '%s'." % text)
        match = _CONDA_NAME.match(raw)
        if not match:
            raise SpecError(
                "Malformed Conda dependency '%s': expected 'name', 'name=1.2', "
                "'name>=1' or 'channel::name'." % text
            )
        name, rest = match.group(1).lower(), match.group(2)
        if rest and not rest.startswith(_OPERATOR_START) and not rest[0].isdigit():
            raise SpecError(
                "Malformed Conda dependency '%s': expected 'name', 'name=1.2', "
                "'name>=1' or 'channel::name'." % text
            )
        return cls(name, _normalize_conda_version(rest, "Conda package '%s'" % name), channel)

    def match_spec(self) -> str:
        """The spec in rattler/conda MatchSpec syntax."""
        out = "%s::%s" % (self.channel, self.name) if self.channel else self.name
        if self.version:
            out += " " + self.version
        return out

    def __str__(self) -> str:
        return self.match_spec()


@dataclass(frozen=True)
class PypiDep:
    """A PyPI requirement: PEP 508 (extras, markers, `name @ url`), or a bare URL/path whose
    name is only known once built."""

    requirement: str
    name: Optional[str] = None
    # sha256 digests (lowercase hex) of the files this requirement may install: pip's
    # hash-checking mode (`--hash=sha256:...`). Empty: whatever file the index lists.
    hashes: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = [h for h in self.hashes if not is_sha256(h)]
        if bad:
            raise SpecError(
                "Malformed hash '%s' for PyPI requirement '%s': write '--hash=sha256:' and the "
                "64 hexadecimal digits of the file's sha256." % (bad[0], self.requirement)
            )

    @property
    def pinned(self) -> bool:
        """One exact file version (`==1.2`, `===1.2`) or one URL, as pip's hash-checking
        mode requires; bare locations count too (their file is what is hashed)."""
        try:
            req = Requirement(self.requirement)
        except InvalidRequirement:
            return True  # a bare URL or path
        if req.url:
            return True
        specs = list(req.specifier)
        return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version

    @classmethod
    def parse(cls, text: str) -> "PypiDep":
        raw = text.strip()
        if _looks_like_location(raw):
            return cls(raw, _name_from_location(raw))
        try:
            req = Requirement(raw)
        except InvalidRequirement as err:
            # packaging's message is multi-line (text + caret); keep only the reason
            reason = str(err).splitlines()[0] if str(err) else "invalid syntax"
            raise SpecError(
                "Malformed PyPI requirement '%s' (%s): write it as 'name', 'name>=1.0', "
                "'name[extra]==1.0; python_version >= \"3.9\"', 'name @ https://...' or a "
                "path such as './dir'." % (raw, reason)
            ) from None
        return cls(str(req), canonicalize_name(req.name))

    def __str__(self) -> str:
        return self.requirement


def _looks_like_location(text: str) -> bool:
    return (
        text.startswith(("git+", "hg+", "svn+", "bzr+", "http://", "https://", "file:"))
        or text.startswith(("/", "./", "../", "~"))
    )


def _name_from_location(text: str) -> Optional[str]:
    egg = re.search(r"[#&]egg=([A-Za-z0-9_.\-]+)", text)
    if egg:
        return canonicalize_name(egg.group(1))
    base = text.rstrip("/").rsplit("/", 1)[-1]
    if base.endswith(".whl"):
        return canonicalize_name(base.split("-", 1)[0])
    return None


# Where PyPI packages come from when neither the request, METAFLOW_CONDA_DEFAULT_PYPI_SOURCE
# nor pip's configuration names an index (see resolve/pip_config.py default_pypi_index).
DEFAULT_INDEX = "https://pypi.org/simple"


def parse_channel(text: str) -> Optional[str]:
    """The Conda channel `text` names (a name such as `conda-forge` or a URL); None for
    `nodefaults`, as `defaults` is never added implicitly anyway."""
    channel = text.strip()
    if not channel or " " in channel:
        raise SpecError("'%s' is not a channel: write a name such as 'conda-forge' or a URL." % channel)
    return None if channel == "nodefaults" else channel


def check_source_url(value: Any, option: str) -> str:
    """`value` if it is an http(s) URL with a host or a file: URL; else a SpecError naming
    the value and `option`. A typo (`pypi.example.com/simple`, `htps://...`) must never
    leave uv to fall back to PyPI, where anyone can publish a package of the same name."""
    if _is_source_url(value):
        return value
    raise _bad_source(value, option, "a URL")


def check_find_links(value: Any, option: str) -> str:
    """`value` if it is a source URL or an existing local path (pip's find-links). Looks at
    the disk: parsers call it; a lock read elsewhere only gets `PypiSources`' syntax check."""
    if _is_source_url(value) or (_is_path(value) and os.path.exists(os.path.expanduser(value))):
        return value
    raise _bad_source(value, option, "a URL or an existing directory")


def _is_source_url(value: Any) -> bool:
    if not isinstance(value, str) or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme in ("http", "https"):
        return bool(host) and value.startswith(parts.scheme + "://")
    return parts.scheme == "file" and bool(parts.path)


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and "://" not in value


def _bad_source(value: Any, option: str, wanted: str) -> SpecError:
    from ..auth import strip_credentials  # here: auth is only needed to word this error

    shown = strip_credentials(value) if isinstance(value, str) else repr(value)
    return SpecError(
        "%s '%s' is not %s: write the full address with its scheme, e.g. "
        "'https://pypi.example.com/simple' (nothing falls back to PyPI)." % (option, shown, wanted)
    )


# uv's `--index-strategy` values. pip compares the candidates of every index and takes the
# best (`unsafe-best-match`); uv by default only looks at the first index that has a package
# (`first-index`), which guards against dependency confusion but is not what pip users wrote.
INDEX_STRATEGY_PIP = "unsafe-best-match"
INDEX_STRATEGY_UV = "first-index"
INDEX_STRATEGIES = (INDEX_STRATEGY_UV, "unsafe-first-match", INDEX_STRATEGY_PIP)

# Where a source was declared (url or path, then e.g. "--extra-index-url in req.txt, line 3").
Origins = Tuple[Tuple[str, str], ...]


@dataclass(frozen=True)
class PypiSources:
    """Where PyPI packages come from (pip's options of the same names)."""

    index_url: Optional[str] = None
    extra_index_urls: Tuple[str, ...] = ()
    find_links: Tuple[str, ...] = ()
    trusted_hosts: Tuple[str, ...] = ()
    pre: bool = False
    no_index: bool = False
    # How uv searches several indexes (INDEX_STRATEGIES); None until the defaults are filled
    # in (resolve/pip_config.py), unless the file chose one ([tool.uv] index-strategy).
    index_strategy: Optional[str] = None
    # The indexes are declared the uv way (pyproject.toml's [[tool.uv.index]]...): uv's rules
    # apply, and pip's configuration does not.
    uv_declared: bool = False
    # pip's `--no-binary` / `--only-binary`: canonical package names, or `:all:`.
    no_binary: Tuple[str, ...] = ()
    only_binary: Tuple[str, ...] = ()
    # Where each index and find-links location was declared, for messages only: not part of
    # the request (the same index named in two files is the same request).
    origins: Origins = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Every way in (files, decorators, locks) ends here; parsers check first to name
        # the line or attribute.
        if self.index_url is not None:
            check_source_url(self.index_url, "index_url")
        for value in self.extra_index_urls:
            check_source_url(value, "extra_index_urls")
        for value in self.find_links:
            if not _is_path(value):
                check_source_url(value, "find_links")
        if self.index_strategy not in (None,) + INDEX_STRATEGIES:
            raise SpecError("Unknown PyPI index strategy %r: use one of %s."
                            % (self.index_strategy, ", ".join(INDEX_STRATEGIES)))

    def merged(self, other: "PypiSources") -> "PypiSources":
        return PypiSources(
            index_url=other.index_url or self.index_url,
            extra_index_urls=_unique(self.extra_index_urls + other.extra_index_urls),
            find_links=_unique(self.find_links + other.find_links),
            trusted_hosts=_unique(self.trusted_hosts + other.trusted_hosts),
            pre=self.pre or other.pre,
            no_index=self.no_index or other.no_index,
            index_strategy=other.index_strategy or self.index_strategy,
            uv_declared=self.uv_declared or other.uv_declared,
            no_binary=_unique(self.no_binary + other.no_binary),
            only_binary=_unique(self.only_binary + other.only_binary),
            origins=self.origins + other.origins,
        )

    def origin(self, url: str) -> Optional[str]:
        """Where `url` (an index or find-links location) was declared, if known."""
        return next((where for u, where in self.origins if u == url), None)


def origins_of(urls: Iterable[str], where: str) -> Origins:
    """Each of `urls` declared at `where`."""
    return tuple((u, where) for u in urls)


def _unique(items: Iterable[str]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# Virtual packages a request may declare: what the target machine provides, which no channel
# holds (a CUDA driver, the C library...). The solver takes them as given.
SYS_PACKAGE_NAMES = ("__archspec", "__cuda", "__glibc", "__linux", "__osx", "__unix")
SYS_EXAMPLE = "'__cuda==12.4'"
_SYS_TEXT = re.compile(r"^\s*(__[A-Za-z0-9_]+)\s*(?:==?\s*(.*?))?\s*$")
_SYS_VERSION = re.compile(r"^\d+(\.\d+)*$")
_SYS_BUILD = re.compile(r"^[A-Za-z0-9_.]+$")
_SYS_EXAMPLES = {"__glibc": "2.28", "__osx": "11.0", "__linux": "5.10", "__archspec": "1", "__unix": "0"}

SysPackages = Tuple[Tuple[str, str], ...]  # (name, "version" or "version=build"), by name


def check_sys_package(name: Any, value: Any) -> Tuple[str, str]:
    """(name, value) once checked: a known virtual package and one exact version, optionally
    with a build (`12.4`, `12.4=0`; `__archspec`'s build is the microarchitecture)."""
    if name not in SYS_PACKAGE_NAMES:
        raise SpecError(
            "Unknown system package %r: use one of %s (the virtual packages a target machine "
            "provides)." % (name, ", ".join(SYS_PACKAGE_NAMES)))
    text = value.strip().lstrip("=") if isinstance(value, str) else ""
    version, with_build, build = text.partition("=")
    valid = bool(_SYS_VERSION.match(version)) and (not with_build or bool(_SYS_BUILD.match(build)))
    if name in ("__glibc", "__osx") and "." not in version:
        valid = False  # major.minor: wheel tags (manylinux_2_28, macosx_11_0) are made of it
    if not valid:
        example = sys_example(name)
        raise SpecError(
            "System package %s needs the one version the target machine provides, as a string "
            "such as '%s' (or '%s=0' with a build), not %r." % (name, example, example, value))
    return name, text


def sys_example(name: str) -> str:
    """A plausible version of the virtual package `name`, for messages and documentation."""
    return _SYS_EXAMPLES.get(name, "12.4")


def parse_sys_package(text: str) -> Tuple[str, str]:
    """`__cuda==12.4` (or `__cuda=12.4`) as written in requirements.txt and environment.yml."""
    match = _SYS_TEXT.match(text)
    if not match or not match.group(2):
        raise SpecError("Malformed system package '%s': write the name and the version the machine "
                        "provides, e.g. %s." % (text.strip(), SYS_EXAMPLE))
    return check_sys_package(match.group(1), match.group(2))


def merge_sys_packages(*layers: Iterable[Tuple[str, str]]) -> SysPackages:
    """Layers of declarations, later ones winning for a name; sorted by name."""
    merged: Dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return tuple(sorted(merged.items()))


@dataclass(frozen=True)
class EnvSpec:
    """One environment request. `platform` is the target (not part of req_id: the same
    request resolved for two platforms shares its req_id, as EnvID carries the arch, unless
    what they are resolved against differs: `sys_packages`, e.g. an osx target's macOS)."""

    conda_deps: Tuple[CondaDep, ...] = ()
    pypi_deps: Tuple[PypiDep, ...] = ()
    channels: Tuple[str, ...] = ()
    pypi_sources: PypiSources = field(default_factory=PypiSources)
    python: Optional[str] = None
    platform: str = "linux-64"
    # Where the Python comes from ("conda" or "system", filled in from the settings before
    # hashing): part of the request, so an environment made one way never answers the other.
    python_source: Optional[str] = None
    # PEP 508 requirements that only bound versions (requirements.txt's `-c FILE`).
    pypi_constraints: Tuple[str, ...] = ()
    # Channels searched before `channels` (or the configured ones when it is empty):
    # requirements.txt's `--conda-channel`. Folded into `channels` before hashing.
    extra_channels: Tuple[str, ...] = ()
    # A lock brought by the user (uv.lock, pylock.toml): PyPI packages taken as locked, never
    # re-resolved. `pypi_deps` may still add packages on top (e.g. what Metaflow needs).
    pypi_locked: Optional[LockedPypi] = None
    # Virtual packages the target is resolved against, overriding or adding to those of its
    # platform (e.g. `("__cuda", "12.4")`): part of the request, as they change what resolves.
    sys_packages: SysPackages = ()
    # What the parser read but does not use (unknown sections...), for the caller to show.
    # Not part of the request: two files differing only in ignored text ask for the same.
    warnings: Tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.platform not in CONDA_PLATFORMS:
            raise SpecError(
                "Unknown platform '%s': use one of %s." % (self.platform, ", ".join(CONDA_PLATFORMS))
            )
        if self.python:
            _check_conda_version(self.python, "python")
        for constraint in self.pypi_constraints:
            try:
                bad = bool(Requirement(constraint).url)
            except (InvalidRequirement, TypeError):
                bad = True
            if bad:
                raise SpecError("Invalid PyPI constraint %r: write a name with versions, e.g. 'numpy<2'." % (constraint,))
        names = [name for name, _ in self.sys_packages]
        if len(set(names)) != len(names):
            raise SpecError("System package %s is declared twice: keep one version."
                            % next(n for n in names if names.count(n) > 1))
        # sorted here, so that equal declarations are equal requests whatever their order
        object.__setattr__(self, "sys_packages", tuple(sorted(check_sys_package(n, v) for n, v in self.sys_packages)))
        if self.python_source not in (None, *PythonSource):
            raise SpecError("Unknown Python source '%s': use 'conda' or 'system'." % self.python_source)

    @property
    def env_type(self) -> str:
        has_pypi = bool(self.pypi_deps) or self.pypi_locked is not None
        if has_pypi and self.conda_deps:
            return ENV_TYPE_MIXED
        if has_pypi:
            return ENV_TYPE_PYPI
        return ENV_TYPE_CONDA

    @property
    def pypi_no_deps(self) -> bool:
        """A requirements file that is itself a lock (pip-compile / `uv pip compile
        --generate-hashes` output): every requirement `name==version` with its `--hash`. Its
        packages are installed as listed, their dependencies not resolved."""
        return bool(self.pypi_deps) and all(
            d.hashes and d.name and d.pinned and "==" in d.requirement and "@" not in d.requirement
            for d in self.pypi_deps)

    def for_platform(self, platform: str) -> "EnvSpec":
        return replace(self, platform=platform)

    def canonical(self) -> Dict[str, Any]:
        """Order-independent (except channel and index priority) description of the request."""
        src = self.pypi_sources
        out: Dict[str, Any] = {
            "conda": sorted(str(d) for d in self.conda_deps),
            "pypi": sorted(str(d) for d in self.pypi_deps),
            "channels": list(self.channels),
            "pypi_sources": {
                "index_url": src.index_url,
                "extra_index_urls": list(src.extra_index_urls),
                "find_links": list(src.find_links),
                "trusted_hosts": sorted(src.trusted_hosts),
                "pre": src.pre,
                "no_index": src.no_index,
            },
            "python": self.python,
            "python_source": self.python_source,
        }
        if src.index_strategy:  # only then, as for hashes: a Conda-only request keeps its req_id
            out["pypi_sources"]["index_strategy"] = src.index_strategy
        if src.uv_declared:
            out["pypi_sources"]["uv_declared"] = True
        for key in ("no_binary", "only_binary"):
            if getattr(src, key):
                out["pypi_sources"][key] = sorted(getattr(src, key))
        hashes = {str(d): sorted(d.hashes) for d in self.pypi_deps if d.hashes}
        if hashes:  # only then: every request without hashes keeps its req_id
            out["pypi_hashes"] = hashes
        if self.pypi_constraints:
            out["pypi_constraints"] = sorted(self.pypi_constraints)
        if self.extra_channels:  # only then, as for hashes
            out["extra_channels"] = list(self.extra_channels)
        if self.pypi_no_deps:
            out["pypi_no_deps"] = True
        if self.pypi_locked is not None:
            out["pypi_locked"] = self.pypi_locked.canonical()
        if self.sys_packages:  # only then, as for hashes
            out["sys"] = dict(self.sys_packages)
        return out

    @property
    def req_id(self) -> str:
        from ..auth import strip_credentials

        # Credentials never take part in identity (nor get stored).
        text = strip_credentials(json.dumps(self.canonical(), sort_keys=True))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> Dict[str, Any]:
        from ..auth import strip_credentials_deep

        out = self.canonical()
        out["platform"] = self.platform
        return strip_credentials_deep(out)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "EnvSpec":
        src = data.get("pypi_sources") or {}
        hashes = data.get("pypi_hashes") or {}
        return cls(
            conda_deps=tuple(CondaDep.parse(d) for d in data.get("conda", ())),
            pypi_deps=tuple(replace(PypiDep.parse(d), hashes=tuple(hashes.get(d, ())))
                            for d in data.get("pypi", ())),
            channels=tuple(data.get("channels", ())),
            pypi_sources=PypiSources(
                index_url=src.get("index_url"),
                extra_index_urls=tuple(src.get("extra_index_urls", ())),
                find_links=tuple(src.get("find_links", ())),
                trusted_hosts=tuple(src.get("trusted_hosts", ())),
                pre=bool(src.get("pre")),
                no_index=bool(src.get("no_index")),
                index_strategy=src.get("index_strategy"),
                uv_declared=bool(src.get("uv_declared")),
                no_binary=tuple(src.get("no_binary", ())),
                only_binary=tuple(src.get("only_binary", ())),
            ),
            python=data.get("python"),
            platform=data.get("platform", "linux-64"),
            python_source=data.get("python_source"),
            pypi_constraints=tuple(data.get("pypi_constraints", ())),
            extra_channels=tuple(data.get("extra_channels", ())),
            pypi_locked=LockedPypi.from_canonical(data["pypi_locked"]) if data.get("pypi_locked") else None,
            sys_packages=tuple(_mapping(data.get("sys"), "sys").items()),
        )


def _mapping(value: Any, what: str) -> Dict[str, Any]:
    """A lock's mapping field, checked: locks are read from stores and caches."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError("Malformed '%s' in an environment description: expected a mapping, got %r." % (what, value))
    return value
