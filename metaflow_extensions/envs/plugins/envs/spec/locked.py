"""A locked PyPI set: a lock file brought by the user (uv.lock, pylock.toml) as pure data.

Every package is already chosen, with the files it may install and their sha256: resolving
it only picks, for one target, the entries whose markers hold and the wheel its tags prefer
(resolve/pinned.py). Nothing is re-resolved and no index is asked.
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import SpecError
from ..plumbing.cache import is_safe_filename, is_sha256

_SCHEMES = ("http", "https", "file")


@dataclass(frozen=True)
class LockedFile:
    """One file a locked package may install, as the lock names it."""

    url: str
    sha256: str
    filename: str
    size: Optional[int] = None

    def check(self, package: str, source: str) -> None:
        what = "%s: file %r of %s" % (source, self.filename, package)
        if not is_safe_filename(self.filename):
            raise SpecError("%s is not a plain file name: fix the lock." % what)
        if not is_sha256(self.sha256):
            raise SpecError("%s has no sha256 (or a malformed one): lock with hashes (uv lock and "
                            "pylock.toml record them)." % what)
        if urlsplit(self.url).scheme not in _SCHEMES:
            raise SpecError("%s has URL %r: only http, https and file URLs are allowed." % (what, self.url))
        if self.size is not None and (not isinstance(self.size, int) or self.size < 0):
            raise SpecError("%s has an invalid size %r." % (what, self.size))

    def canonical(self) -> Dict[str, Any]:
        return {"url": self.url, "sha256": self.sha256, "filename": self.filename, "size": self.size}


@dataclass(frozen=True)
class LockedEntry:
    """One package of the lock: its exact version, when it applies (marker) and its files.
    No files at all (a local directory, a VCS checkout) means none for any target."""

    name: str
    version: str
    marker: Optional[str] = None
    wheels: Tuple[LockedFile, ...] = ()
    sdist: Optional[LockedFile] = None

    def canonical(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "marker": self.marker,
            "wheels": sorted((w.canonical() for w in self.wheels), key=lambda w: w["filename"]),
            "sdist": self.sdist.canonical() if self.sdist else None,
        }

    @classmethod
    def from_canonical(cls, data: Dict[str, Any]) -> "LockedEntry":
        sdist = data.get("sdist")
        return cls(data["name"], data["version"], data.get("marker"),
                   tuple(LockedFile(**w) for w in data.get("wheels", ())), LockedFile(**sdist) if sdist else None)


@dataclass(frozen=True)
class LockedPypi:
    """The PyPI part of an environment, taken as it was locked. `extras` and `groups` are
    those selected (markers of a pylock.toml may test them); `source` names the lock in
    messages and `left_out` the lock's own project (a flow ships its own code): neither is
    part of the request. `direct` names the packages the lock's project asks for itself
    (uv.lock: its dependencies, selected extras and groups; empty: every entry is asked for,
    as in a pylock.toml): what verification imports."""

    entries: Tuple[LockedEntry, ...]
    requires_python: Optional[str] = None
    extras: Tuple[str, ...] = ()
    groups: Tuple[str, ...] = ()
    source: str = "the lock"
    left_out: Tuple[str, ...] = ()
    direct: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.requires_python:
            try:
                SpecifierSet(self.requires_python)
            except InvalidSpecifier:
                raise SpecError("%s: requires-python %r is not a version specifier such as '>=3.9'."
                                % (self.source, self.requires_python)) from None
        seen = set()
        for entry in self.entries:
            if not entry.name or canonicalize_name(entry.name) != entry.name or not entry.version:
                raise SpecError("%s: package %r (version %r) needs a normalized name and an exact version."
                                % (self.source, entry.name, entry.version))
            key = (entry.name, entry.marker)
            if key in seen:
                raise SpecError("%s lists %s twice for the same environments: fix the lock." % (self.source, entry.name))
            seen.add(key)
            if entry.marker:
                try:
                    Marker(entry.marker)
                except InvalidMarker:
                    raise SpecError("%s: package %s has an invalid marker %r." % (self.source, entry.name,
                                                                                entry.marker)) from None
            for locked_file in entry.wheels + ((entry.sdist,) if entry.sdist else ()):
                locked_file.check("%s %s" % (entry.name, entry.version), self.source)
        if any(not name or canonicalize_name(name) != name for name in self.direct):
            raise SpecError("%s: the packages it asks for need normalized names (got %s)."
                            % (self.source, ", ".join(map(repr, self.direct))))

    @property
    def requested(self) -> Tuple[str, ...]:
        """The names of the packages asked for (not those they depend on)."""
        return self.direct or tuple(e.name for e in self.entries)

    def canonical(self) -> Dict[str, Any]:
        """Order-independent description: part of the request's req_id."""
        out = {
            "requires_python": self.requires_python,
            "extras": sorted(self.extras),
            "groups": sorted(self.groups),
            "entries": sorted((e.canonical() for e in self.entries), key=lambda e: (e["name"], e["marker"] or "")),
        }
        if self.direct:  # only then: the requests of pylock.toml files keep their ids
            out["direct"] = sorted(self.direct)
        return out

    @classmethod
    def from_canonical(cls, data: Dict[str, Any], source: str = "the lock") -> "LockedPypi":
        try:
            return cls(
                entries=tuple(LockedEntry.from_canonical(e) for e in data["entries"]),
                requires_python=data.get("requires_python"),
                extras=tuple(data.get("extras", ())),
                groups=tuple(data.get("groups", ())),
                source=source,
                direct=tuple(data.get("direct", ())),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise SpecError("%s: a locked PyPI package is malformed (%s)." % (source, err)) from None
