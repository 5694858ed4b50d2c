"""pylock.toml (PEP 751) -> LockedPypi.

Read: `requires-python`, and per package `name`, `version`, `marker`, `wheels` and `sdist`
(each with `url` or `path`, `hashes.sha256`, `size`). A package with only a `directory`,
`vcs` or `archive` source is kept without files: it has none for any target, which resolving
reports with the other packages lacking one. The project itself (a `directory` entry for the
lock's own folder, as `uv export --format pylock.toml` writes it, without a version) is left
out, as it is of a uv.lock: a flow ships its own code.
"""
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from packaging.utils import canonicalize_name

from ...errors import SpecError
from ..locked import LockedEntry, LockedFile, LockedPypi
from ..requirements_txt import read_spec_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


def read_pylock(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = (),
                source: Optional[str] = None) -> LockedPypi:
    """The locked set of the pylock.toml at `path`; `extras`/`groups` select what its
    markers may test (`'x' in extras`). `source` names it in messages (default: `path`)."""
    source = source or str(path)
    try:
        data = tomllib.loads(read_spec_text(str(path)))
    except tomllib.TOMLDecodeError as err:
        raise SpecError("%s is not valid TOML (%s): fix the file or lock again." % (source, err)) from None
    if not str(data.get("lock-version", "")).startswith("1."):
        raise SpecError("%s is not a pylock.toml of version 1.x (lock-version = %r): write it with a tool "
                        "following PEP 751 (e.g. `uv export --format pylock.toml`)." % (source, data.get("lock-version")))
    packages = data.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise SpecError("%s: [[packages]] must be a list of tables." % source)
    projects = [p for p in packages if _is_own_project(p, path.parent)]
    return LockedPypi(
        entries=tuple(_entry(p, path.parent, source) for p in packages if p not in projects),
        requires_python=data.get("requires-python"),
        extras=tuple(extras),
        groups=tuple(data.get("default-groups", ())) + tuple(groups),
        source=source,
        left_out=tuple(str(p.get("name")) for p in projects),
    )


def _is_own_project(package: Dict[str, Any], base: Path) -> bool:
    """The lock's own project: a local directory that is the lock's folder."""
    directory = package.get("directory")
    if not isinstance(directory, dict) or not isinstance(directory.get("path"), str):
        return False
    return Path(base, directory["path"]).resolve() == Path(base).resolve()


def _entry(package: Dict[str, Any], base: Path, source: str) -> LockedEntry:
    name, version = package.get("name"), package.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise SpecError("%s: every package needs a name and a version (got %r %r): only locks of exact "
                        "versions can be used." % (source, name, version))
    sdist = package.get("sdist")
    try:
        return LockedEntry(
            name=canonicalize_name(name),
            version=version,
            marker=package.get("marker"),
            wheels=package_wheels(package, base, source),
            sdist=_file(sdist, base, source, name) if sdist else None,
        )
    except (TypeError, AttributeError):
        raise SpecError("%s: the files of package %s are malformed." % (source, name)) from None


def package_wheels(package: Dict[str, Any], base: Path, source: str) -> Tuple[LockedFile, ...]:
    """The wheels of one [[packages]] table of the pylock.toml `source` in folder `base`
    (also read by resolve/pypi.py from the pylock.toml uv compiles)."""
    try:
        return tuple(_file(w, base, source, str(package.get("name"))) for w in package.get("wheels", []))
    except (TypeError, AttributeError):
        raise SpecError("%s: the files of package %s are malformed." % (source, package.get("name"))) from None


def _file(data: Dict[str, Any], base: Path, source: str, package: str) -> LockedFile:
    url = data.get("url") or (Path(base, data["path"]).resolve().as_uri() if data.get("path") else None)
    if not url:
        raise SpecError("%s: a file of package %s has neither url nor path." % (source, package))
    filename = data.get("name") or url.rstrip("/").rsplit("/", 1)[-1]
    return LockedFile(url=url, sha256=(data.get("hashes") or {}).get("sha256", ""), filename=filename,
                      size=data.get("size"))

