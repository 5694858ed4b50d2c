"""The Lock (ResolvedEnvironment): every package of an environment with exact URL and sha256.

Serialised as versioned JSON (`schema_version`). A lock alone is enough to hydrate a prefix:
no re-resolution ever happens from it. URLs in a lock never carry credentials.

A lock read back (from a datastore, the local index, a file) is untrusted input: `from_dict`
checks every field that later names a path, a URL or a package, and that the ids it carries
are those of its content. The full_id covers everything that changes what is installed, so
a lock edited anywhere but in its alternates no longer matches the id it is stored under.
"""
import getpass
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

from .auth import strip_credentials
from .errors import SpecError
from .ids import EnvID
from .kinds import PackageKind, PythonSource
from .plumbing.cache import is_safe_filename, is_sha256
from .spec.model import CONDA_PLATFORMS, EnvSpec

# 2: the full_id covers every field of every package, the Python version and its source.
SCHEMA_VERSION = 2

ARCHIVE_SUFFIXES = {PackageKind.CONDA: (".conda", ".tar.bz2"), PackageKind.PYPI: (".whl",)}
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_PACKAGE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
URL_SCHEMES = ("http://", "https://", "file://")


def conda_archive_stem(filename: str) -> str:
    """`name-version-build` of a Conda archive's file name (also the folder rattler extracts
    it into)."""
    for suffix in ARCHIVE_SUFFIXES[PackageKind.CONDA]:
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    raise SpecError("Not a Conda archive: %s" % filename)


class LockError(SpecError):
    """A lock that cannot be trusted: malformed, tampered with or not what was asked for."""

    def __init__(self, problem: str) -> None:
        super().__init__("Corrupted lock: %s. Re-resolve the environment (`--force`) or check who wrote it." % problem)


@dataclass(frozen=True)
class CondaRecordInfo:
    """What rattler needs, beyond name/version/build, to link a Conda package."""

    build_number: int = 0
    subdir: str = "noarch"
    channel: str = ""
    noarch: Optional[str] = None
    depends: Tuple[str, ...] = ()
    constrains: Tuple[str, ...] = ()
    md5: Optional[str] = None
    license: Optional[str] = None
    timestamp: Optional[int] = None  # ms since epoch, as in repodata


@dataclass(frozen=True)
class PackageFile:
    """The same Conda package in its other archive format (made by transmuting it)."""

    filename: str
    sha256: str
    size: Optional[int] = None


@dataclass(frozen=True)
class LockedPackage:
    kind: str  # a PackageKind
    name: str
    version: str
    build: str  # conda build string, or the wheel's tag triple
    filename: str
    url: str
    sha256: str
    size: Optional[int] = None
    conda: Optional[CondaRecordInfo] = None
    # For wheels we built: the requirement they were built from (sdist URL, git, path), and
    # the sha256 of that source (the archive, or a git checkout's or directory's files, see
    # resolve/build.py) so what was built from can be checked later.
    built_from: Optional[str] = None
    source_sha256: Optional[str] = None
    # Other archive formats of this very package, available from the store only. Not part
    # of the identity: the environment is the same whichever archive installs it.
    alternates: Tuple[PackageFile, ...] = ()

    def identity(self) -> Tuple[str, str, str]:
        return (self.kind, self.filename, self.sha256)

    def to_dict(self) -> Dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None and v != ()}
        if self.conda is not None:
            out["conda"] = {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in asdict(self.conda).items() if v is not None}
        out["url"] = strip_credentials(self.url)
        if self.built_from:
            out["built_from"] = strip_credentials(self.built_from)
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "LockedPackage":
        """A package read back from a lock, each field checked before it can name a path,
        a URL or a package."""
        try:
            conda = data.get("conda")
            info = None
            if conda is not None:
                info = CondaRecordInfo(
                    **{k: (tuple(v) if isinstance(v, list) else v) for k, v in conda.items()}
                )
            pkg = cls(
                kind=data["kind"],
                name=data["name"],
                version=data["version"],
                build=data.get("build", ""),
                filename=data["filename"],
                url=data["url"],
                sha256=data["sha256"],
                size=data.get("size"),
                conda=info,
                built_from=data.get("built_from"),
                source_sha256=data.get("source_sha256"),
                alternates=tuple(PackageFile(**alt) for alt in data.get("alternates", ())),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise LockError("a package entry is malformed (%s)" % err) from None
        pkg.check()
        return pkg

    def check(self) -> None:
        """Raise LockError unless every field is of the kind a lock we wrote holds."""
        what = "package %r" % (self.filename,)
        if self.kind not in ARCHIVE_SUFFIXES:
            raise LockError("%s has kind %r (expected %s)" % (what, self.kind, " or ".join(ARCHIVE_SUFFIXES)))
        for field_name in ("name", "version", "build", "url"):
            if not isinstance(getattr(self, field_name), str):
                raise LockError("%s has a %s that is not text" % (what, field_name))
        if not _PACKAGE_NAME.match(self.name):
            raise LockError("%s has an invalid name %r" % (what, self.name))
        files = [(self.filename, self.sha256)] + [(a.filename, a.sha256) for a in self.alternates]
        for filename, sha256 in files:
            if not is_safe_filename(filename) or not filename.endswith(ARCHIVE_SUFFIXES[self.kind]):
                raise LockError("%s package file name %r is not a plain %s archive name"
                                % (self.kind, filename, "/".join(ARCHIVE_SUFFIXES[self.kind])))
            if not is_sha256(sha256):
                raise LockError("%s has an invalid sha256 %r" % (what, sha256))
        if self.source_sha256 is not None and not is_sha256(self.source_sha256):
            raise LockError("%s has an invalid source sha256 %r" % (what, self.source_sha256))
        # A wheel we built has no URL to download from (its source is recorded instead).
        if not self.built_from and not self.url.startswith(URL_SCHEMES):
            raise LockError("%s has URL %r: only http, https and file URLs are allowed" % (what, self.url))
        if self.size is not None and (not isinstance(self.size, int) or self.size < 0):
            raise LockError("%s has an invalid size %r" % (what, self.size))
        if self.kind == PackageKind.CONDA:
            info = self.conda
            if info is None:
                raise LockError("Conda %s has no record data" % what)
            if info.subdir not in CONDA_PLATFORMS + ("noarch",):
                raise LockError("%s has an unknown subdir %r" % (what, info.subdir))
            if info.md5 is not None and not _MD5.match(str(info.md5)):
                raise LockError("%s has an invalid md5 %r" % (what, info.md5))
        elif self.conda is not None:
            raise LockError("PyPI %s carries Conda record data" % what)

    def identity_data(self) -> Dict[str, Any]:
        """Everything about this package that changes what is installed (all but the
        alternates: another archive of the very same package)."""
        out = self.to_dict()
        out.pop("alternates", None)
        return out

    def in_format(self, extension: str) -> Optional["LockedPackage"]:
        """This package as its `extension` archive, if it is or has one."""
        if self.filename.endswith(extension):
            return self
        for alt in self.alternates:
            if alt.filename.endswith(extension):
                return self.as_alternate(alt)
        return None

    def as_alternate(self, alt: PackageFile) -> "LockedPackage":
        return replace(self, filename=alt.filename, sha256=alt.sha256, size=alt.size, alternates=())


def compute_full_id(
    packages: List[LockedPackage], python_version: str = "", python_source: str = PythonSource.CONDA
) -> str:
    """The hash of everything that changes what is installed: every field of every package
    (order-independent), the Python version and where the Python comes from."""
    document = {
        "packages": sorted((p.identity_data() for p in packages), key=lambda d: (d["kind"], d["filename"], d["sha256"])),
        "python": python_version,
        "python_source": python_source,
    }
    return hashlib.sha1(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ResolvedEnvironment:
    spec: EnvSpec
    packages: Tuple[LockedPackage, ...]
    python_version: str
    python_source: str = PythonSource.CONDA
    resolved_at: float = field(default_factory=time.time)
    resolved_by: str = field(default_factory=lambda: current_user())
    # True for a lock resolved by this process from a request the user just made; False for
    # one read back, whose sources may have been written by anyone (see local_source_urls).
    resolved_here: bool = field(default=True, compare=False)

    @property
    def req_id(self) -> str:
        return self.spec.req_id

    @property
    def full_id(self) -> str:
        return compute_full_id(list(self.packages), self.python_version, self.python_source)

    @property
    def arch(self) -> str:
        return self.spec.platform

    @property
    def env_type(self) -> str:
        return self.spec.env_type

    def conda_packages(self) -> List[LockedPackage]:
        return [p for p in self.packages if p.kind == PackageKind.CONDA]

    def pypi_packages(self) -> List[LockedPackage]:
        return [p for p in self.packages if p.kind == PackageKind.PYPI]

    def local_source_urls(self) -> List[str]:
        """The request's own channels and indexes, which may name local directories packages
        are read from: only for a lock resolved here (a stored one is no authority on which
        local files may be read)."""
        if not self.resolved_here:
            return []
        from . import settings

        src = self.spec.pypi_sources
        channels = list(self.spec.channels) + [d.channel for d in self.spec.conda_deps if d.channel]
        return settings.channel_urls(channels) + [u for u in (src.index_url, *src.extra_index_urls, *src.find_links) if u]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "env_id": {"req_id": self.req_id, "full_id": self.full_id, "arch": self.arch},
            "type": self.env_type,
            "python": self.python_version,
            "python_source": self.python_source,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "spec": self.spec.to_dict(),
            "packages": [p.to_dict() for p in self.packages],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], expected: Optional[EnvID] = None) -> "ResolvedEnvironment":
        """A lock read back. Its recorded ids must be those of its content and, when it was
        looked up by id, `expected`; every package is checked (LockedPackage.check)."""
        if not isinstance(data, dict):
            raise LockError("it is not a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SpecError(
                "Unsupported lock schema version %r (this metaflow-envs reads version %d): "
                "upgrade metaflow-envs or re-resolve the environment (`--force`)." % (version, SCHEMA_VERSION)
            )
        try:
            env = cls(
                spec=EnvSpec.from_dict(data["spec"]),
                packages=tuple(LockedPackage.from_dict(p) for p in data["packages"]),
                python_version=data["python"],
                python_source=data.get("python_source", PythonSource.CONDA),
                resolved_at=data.get("resolved_at", 0.0),
                resolved_by=data.get("resolved_by", "unknown"),
                resolved_here=False,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise LockError("a required field is missing or malformed (%s)" % err) from None
        except SpecError as err:
            if isinstance(err, LockError):
                raise
            raise LockError("its request is invalid (%s)" % err) from None
        if not isinstance(env.python_version, str) or env.python_source not in tuple(PythonSource):
            raise LockError("its Python version or source is malformed")
        recorded = data.get("env_id")
        try:
            recorded_id = EnvID.from_dict(recorded)
        except SpecError as err:
            raise LockError("its env_id is invalid (%s)" % err) from None
        actual = EnvID.of(env)
        if recorded_id != actual:
            raise LockError("its recorded id %s does not match its content (%s)" % (recorded_id, actual))
        if expected is not None and actual != expected:
            raise LockError("it was looked up as %s but holds %s" % (expected, actual))
        return env

    @classmethod
    def from_json(cls, text: str, expected: Optional[EnvID] = None) -> "ResolvedEnvironment":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise LockError("it is not JSON (%s)" % err) from None
        return cls.from_dict(data, expected)


def current_user() -> str:
    """Who resolves: Metaflow's own notion of the user first."""
    for var in ("METAFLOW_USER", "USER", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
