"""The Lock (ResolvedEnvironment): every package of an environment with exact URL and sha256.

Serialised as versioned JSON (`schema_version`). A lock alone is enough to hydrate a prefix:
no re-resolution ever happens from it. URLs in a lock never carry credentials.
"""
import getpass
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

from .auth import strip_credentials
from .errors import SpecError
from .spec.model import EnvSpec

SCHEMA_VERSION = 1

KIND_CONDA = "conda"
KIND_PYPI = "pypi"

PYTHON_FROM_CONDA = "conda"
PYTHON_FROM_SYSTEM = "system"


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
    kind: str  # KIND_CONDA | KIND_PYPI
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
        conda = data.get("conda")
        info = None
        if conda is not None:
            info = CondaRecordInfo(
                **{k: (tuple(v) if isinstance(v, list) else v) for k, v in conda.items()}
            )
        return cls(
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


def compute_full_id(packages: List[LockedPackage]) -> str:
    text = "\n".join("%s %s %s" % p.identity() for p in sorted(packages, key=LockedPackage.identity))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ResolvedEnvironment:
    spec: EnvSpec
    packages: Tuple[LockedPackage, ...]
    python_version: str
    python_source: str = PYTHON_FROM_CONDA
    resolved_at: float = field(default_factory=time.time)
    resolved_by: str = field(default_factory=lambda: current_user())

    @property
    def req_id(self) -> str:
        return self.spec.req_id

    @property
    def full_id(self) -> str:
        return compute_full_id(list(self.packages))

    @property
    def arch(self) -> str:
        return self.spec.platform

    @property
    def env_type(self) -> str:
        return self.spec.env_type

    def conda_packages(self) -> List[LockedPackage]:
        return [p for p in self.packages if p.kind == KIND_CONDA]

    def pypi_packages(self) -> List[LockedPackage]:
        return [p for p in self.packages if p.kind == KIND_PYPI]

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
    def from_dict(cls, data: Dict[str, Any]) -> "ResolvedEnvironment":
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SpecError(
                "Unsupported lock schema version %r (this metaflow-envs reads version %d): "
                "upgrade metaflow-envs or re-resolve the environment." % (version, SCHEMA_VERSION)
            )
        env = cls(
            spec=EnvSpec.from_dict(data["spec"]),
            packages=tuple(LockedPackage.from_dict(p) for p in data["packages"]),
            python_version=data["python"],
            python_source=data.get("python_source", PYTHON_FROM_CONDA),
            resolved_at=data.get("resolved_at", 0.0),
            resolved_by=data.get("resolved_by", "unknown"),
        )
        recorded = data.get("env_id", {}).get("full_id")
        if recorded and recorded != env.full_id:
            raise SpecError(
                "Corrupted lock: its full_id %s does not match its packages (%s); "
                "re-resolve the environment." % (recorded, env.full_id)
            )
        return env

    @classmethod
    def from_json(cls, text: str) -> "ResolvedEnvironment":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise SpecError("Corrupted lock (not JSON: %s); re-resolve the environment." % err) from None
        return cls.from_dict(data)


def current_user() -> str:
    """Who resolves: Metaflow's own notion of the user first."""
    for var in ("METAFLOW_USER", "USER", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
