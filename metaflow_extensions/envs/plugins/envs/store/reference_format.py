"""The reference extension's store (metaflow-netflixext "Conda V2"), read as untrusted data.

Its layout, under its root (CONDA_<DS>ROOT, as ours):
    <envs>/<arch>/<req_id>/<full_id>/env          an environment description (JSON)
    <envs>/aliases/generic/<name>/<tag>           ["<req_id>", "<full_id>"] (no arch)
    <packages>/<kind>/<origin host>/<origin path>/<file>/<hash>/<file>
                                                  a package object (its "cache URL")
`<envs>` is its CONDA_ENVS_DIRNAME (`envs-1` in recent releases, `envs` before). A
description lists its packages with their origin URL, their file name without extension,
the hash of each archive format (md5 for Conda, sha256 for PyPI) and, per format, the key
of the object the package was stored under.

Pure: parsing and validation only, no I/O. Everything here comes from a store anyone with
write access may have edited: names, file names, keys, URLs and hashes are checked before
they name a path, a key, a request or a package.
"""
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from ..auth import strip_credentials
from ..errors import SpecError
from ..ids import ALIAS_GENERIC, Alias, is_hex_id, parse_alias
from ..kinds import PackageKind, PythonSource
from ..lock import ARCHIVE_SUFFIXES
from ..plumbing.cache import is_safe_filename, is_sha256
from ..plumbing.download import local_path
from ..spec.model import CondaDep, EnvSpec, PypiDep, PypiSources

# The host part the reference puts in front of URLs that name a source, not a file.
FAKE_HOST = "_fake"
# Where the reference keeps its descriptions, newest first (CONDA_ENVS_DIRNAME).
REFERENCE_ENVS_DIRNAMES = ("envs-1", "envs")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_KEY_PART = re.compile(r"^[A-Za-z0-9_.:@+~=%-]+$")
# "numpy==>=1.2": the reference writes `name==constraint` even when the constraint has its own operator.
_DOUBLED_OPERATOR = re.compile(r"^([^=<>!~ ]+)==(?=[<>=!~])")


class ReferenceStoreError(SpecError):
    """Something in the reference's store that cannot be imported as it is."""


def description_key(envs_dir: str, arch: str, req_id: str, full_id: str) -> str:
    return "/".join((envs_dir, arch, req_id, full_id, "env"))


def alias_key(envs_dir: str, alias: Alias) -> str:
    """Where the reference keeps a generic alias: its tag is the last path part."""
    return "/".join((envs_dir, "aliases", ALIAS_GENERIC, alias.name, alias.tag))


def alias_from_key_parts(parts: Sequence[str]) -> Optional[Alias]:
    """The alias `a/b/tag` (the parts under aliases/generic/) names, or None if it is not one
    our grammar accepts (the reference's is a subset of ours)."""
    if len(parts) < 2:
        return None
    try:
        return parse_alias("%s:%s" % ("/".join(parts[:-1]), parts[-1]), ALIAS_GENERIC)
    except SpecError:
        return None


def parse_alias_target(text: str, where: str) -> Tuple[str, str]:
    """(req_id, full_id) from an alias object's content."""
    try:
        req_id, full_id = json.loads(text)
    except (ValueError, TypeError):
        raise ReferenceStoreError("The reference alias %s is not a [req_id, full_id] pair." % where) from None
    if not is_hex_id(req_id) or not is_hex_id(full_id):
        raise ReferenceStoreError("The reference alias %s names invalid ids %r, %r." % (where, req_id, full_id))
    return req_id, full_id


@dataclass(frozen=True)
class ReferencePackage:
    """One package of a description, in the one archive format we import it as."""

    kind: str  # a PackageKind
    filename: str  # with its extension
    url: str  # where it was resolved from (kept in our lock as its origin)
    hash: str  # as recorded: md5 (32 hex) or sha256 (64 hex)
    object_key: str  # the package object, relative to the reference's root
    # A wheel the reference built (from an sdist, git, a directory): its URL is a "fake" one
    # naming that source, never downloaded (only the stored wheel is).
    built: bool = False

    @property
    def hash_name(self) -> str:
        return "sha256" if is_sha256(self.hash) else "md5"


@dataclass(frozen=True)
class ReferenceEnv:
    spec: EnvSpec
    packages: Tuple[ReferencePackage, ...]
    resolved_at: float
    resolved_by: str


def parse_description(text: str, arch: str, where: str, local_sources: Sequence[str] = ()) -> ReferenceEnv:
    """A stored description, every field checked. `local_sources` are the folders `file:`
    URLs may point into (the local channels configured here)."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ReferenceStoreError("The reference environment %s is not JSON (%s)." % (where, err)) from None
    if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
        raise ReferenceStoreError("The reference environment %s has no list of packages." % where)
    packages = tuple(_package(p, where, local_sources) for p in data["packages"])
    if not packages:
        raise ReferenceStoreError("The reference environment %s lists no packages." % where)
    return ReferenceEnv(
        spec=_spec(data, arch, where),
        packages=packages,
        resolved_at=_timestamp(data.get("resolved_on")),
        resolved_by=str(data.get("resolved_by") or "unknown")[:200],
    )


def _package(entry: Any, where: str, local_sources: Sequence[str]) -> ReferencePackage:
    if not isinstance(entry, dict):
        raise ReferenceStoreError("The reference environment %s has a package entry that is not an object." % where)
    kind = {"conda": PackageKind.CONDA, "pypi": PackageKind.PYPI, "pip": PackageKind.PYPI}.get(entry.get("_type"))
    stem, url = entry.get("filename"), entry.get("url")
    what = "package %r of the reference environment %s" % (stem, where)
    if kind is None or not isinstance(stem, str) or not isinstance(url, str):
        raise ReferenceStoreError("The %s has no valid type, file name or URL." % what)
    hashes = entry.get("hashes") if isinstance(entry.get("hashes"), dict) else {}
    stored = entry.get("cache_info") if isinstance(entry.get("cache_info"), dict) else {}
    # The archive we take: the format it was resolved as, else any other stored one we install.
    formats = [entry.get("url_format")] + [f for f in ARCHIVE_SUFFIXES[kind] if f != entry.get("url_format")]
    fmt = next((f for f in formats if f in ARCHIVE_SUFFIXES[kind] and isinstance(stored.get(f), dict)), None)
    if fmt is None:
        raise ReferenceStoreError("The %s has no stored %s archive: only packages cached in the reference's "
                                  "datastore can be imported." % (what, "/".join(ARCHIVE_SUFFIXES[kind])))
    filename = stem + fmt
    if not is_safe_filename(filename):
        raise ReferenceStoreError("The %s has file name %r, which is not a plain file name." % (what, filename))
    recorded = hashes.get(fmt) or _hash_in_key(stored[fmt].get("url"))
    if not isinstance(recorded, str) or not (_MD5.match(recorded) or is_sha256(recorded)):
        raise ReferenceStoreError("The %s has no valid md5 or sha256 for %s (got %r)." % (what, filename, recorded))
    key = _object_key(stored[fmt].get("url"), kind, filename, recorded, what)
    built = kind == PackageKind.PYPI and urlsplit(url).netloc.startswith(FAKE_HOST)
    if not built:
        _check_url(url, what, local_sources)
    return ReferencePackage(kind, filename, url, recorded, key, built)


def _hash_in_key(key: Any) -> Optional[str]:
    return key.split("/")[-2] if isinstance(key, str) and key.count("/") >= 2 else None


def _object_key(key: Any, kind: str, filename: str, recorded: str, what: str) -> str:
    """The stored object's key: relative, plain parts only, under <packages>/<kind>/ and
    ending in <hash>/<filename>, as the reference writes it."""
    parts = key.split("/") if isinstance(key, str) else []
    if (len(parts) < 4 or any(p in ("", ".", "..") or not _KEY_PART.match(p) for p in parts)
            or parts[1] not in (kind, "pip" if kind == PackageKind.PYPI else kind) or parts[-2:] != [recorded, filename]):
        raise ReferenceStoreError("The %s is stored under %r, which is not a package key of the reference's "
                                  "layout (<packages>/%s/.../%s/<hash>/%s)." % (what, key, kind, filename, filename))
    return key


def _check_url(url: str, what: str, local_sources: Sequence[str]) -> None:
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        return
    if scheme == "file":
        path = local_path(url)
        real = os.path.realpath(str(path)) if path is not None else ""
        if path is not None and any(real == root or real.startswith(root.rstrip("/") + "/") for root in local_sources):
            return
        raise ReferenceStoreError("The %s has URL %r, a local file outside the local channels configured here "
                                  "(METAFLOW_CONDA_CHANNELS): refusing to import it." % (what, strip_credentials(url)))
    raise ReferenceStoreError("The %s has URL %r: only http, https and file URLs are allowed."
                              % (what, strip_credentials(url)))


def _spec(data: Dict[str, Any], arch: str, where: str) -> EnvSpec:
    """What the reference environment was asked for, as our request (its id names it here)."""
    conda: List[CondaDep] = []
    pypi: List[PypiDep] = []
    python = None
    channels: List[str] = []
    indexes: List[str] = []
    try:
        for item in _tagged(data.get("deps", []), where):
            kind, value = item
            value = _DOUBLED_OPERATOR.sub(r"\1", value)
            if kind == "conda":
                dep = CondaDep.parse(value)
                if dep.name == "python":
                    python = dep.version or None
                else:
                    conda.append(dep)
            elif kind == "pypi":
                pypi.append(PypiDep.parse(value))
        for kind, value in _tagged(data.get("sources", []), where):
            (channels if kind == "conda" else indexes).append(value)
        return EnvSpec(
            conda_deps=tuple(conda), pypi_deps=tuple(pypi), channels=tuple(dict.fromkeys(channels)),
            pypi_sources=PypiSources(index_url=indexes[0] if indexes else None,
                                     extra_index_urls=tuple(dict.fromkeys(indexes[1:]))),
            python=python, platform=arch, python_source=PythonSource.CONDA,
        )
    except SpecError as err:
        raise ReferenceStoreError("The request recorded in the reference environment %s cannot be read: %s"
                                  % (where, err)) from None


def _tagged(values: Any, where: str) -> List[Tuple[str, str]]:
    """`conda::x` / `pypi::y` (legacy `pip::y`) entries; other categories (e.g. `npconda`) are skipped."""
    if not isinstance(values, list) or not all(isinstance(v, str) and "::" in v for v in values):
        raise ReferenceStoreError("The reference environment %s has malformed deps or sources." % where)
    out = []
    for value in values:
        kind, _, rest = value.partition("::")
        kind = "pypi" if kind == "pip" else kind
        if kind in ("conda", "pypi"):
            out.append((kind, rest))
    return out


def _timestamp(text: Any) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return 0.0
