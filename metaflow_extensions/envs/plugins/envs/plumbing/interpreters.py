"""Finding an interpreter already on this machine (`METAFLOW_CONDA_PYTHON_SOURCE=system`).

Nothing is downloaded: we look at PATH, pyenv, uv-managed and the usual system locations, ask
each candidate its version (once per binary: the answers are kept in the cache), and take the
newest one matching the request.
"""
import glob
import json
import os
import re
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional

from packaging.version import InvalidVersion, Version

from .. import settings
from ..errors import ResolveError
from ..layout import CACHE_INTERPRETERS
from .cache import partial_file


def _candidates() -> List[str]:
    seen: Dict[str, str] = {}
    patterns = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in directory:  # pyenv shims only forward to versions/
            patterns.append(os.path.join(directory, "python3*"))
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    patterns.append(os.path.join(pyenv_root, "versions", "*", "bin", "python3.*"))
    patterns.append(os.path.expanduser("~/.local/share/uv/python/*/bin/python3.*"))
    patterns += ["/usr/bin/python3.*", "/usr/local/bin/python3.*", "/opt/homebrew/bin/python3.*"]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            base = os.path.basename(path)
            if not base.replace("python", "").replace(".", "").isdigit():
                continue  # python3-config and friends
            if os.access(path, os.X_OK):
                seen.setdefault(os.path.realpath(path), path)
    seen.setdefault(os.path.realpath(sys.executable), sys.executable)
    return list(seen.values())


@lru_cache(maxsize=None)
def _version_of(path: str) -> Optional[str]:
    """The interpreter's version, remembered on disk per binary (path, size, mtime): starting
    an interpreter costs tens of milliseconds, and every resolution asks."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = "%s|%d|%d" % (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    known = _known_versions()
    if key in known:
        return known[key]
    try:
        out = subprocess.run(
            [path, "-I", "-c", "import platform; print(platform.python_version())"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    known[key] = out.stdout.strip()
    _remember_versions(known)
    return known[key]


def _versions_file() -> Path:
    return settings.cache_dir() / CACHE_INTERPRETERS


@lru_cache(maxsize=None)
def _known_versions() -> Dict[str, str]:
    try:
        known = json.loads(_versions_file().read_text())
        return known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember_versions(known: Dict[str, str]) -> None:
    target = _versions_file()
    try:
        tmp = partial_file(target.parent)
    except OSError:
        return  # a cache we cannot write only costs time
    try:
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        os.replace(tmp, target)  # atomic: concurrent resolutions never read half a file
    except OSError:
        tmp.unlink(missing_ok=True)


def installed_interpreters(constraint: Optional[str] = None) -> Dict[str, str]:
    """version -> path of every working interpreter found (only those whose `python3.X`
    name can match `constraint` are asked: each query starts an interpreter)."""
    matches = _matcher(constraint) if constraint else None
    found: Dict[str, str] = {}
    for path in _candidates():
        named = os.path.basename(path)[len("python"):]
        if matches and named.count(".") == 1 and not _could_match(named, matches):
            continue
        version = _version_of(path)
        if version:
            found.setdefault(version, path)
    return found


def _could_match(major_minor: str, matches: Callable[[str], bool]) -> bool:
    # Could any patch release of that series match? (cheap: no interpreter started)
    return any(matches("%s.%d" % (major_minor, patch)) for patch in range(100))


_SERIES = re.compile(r"^(\d+(?:\.\d+)*)\.\*$")
_EXACT = re.compile(r"^==(\d+\.\d+\.\d+)$")


_RELEASE = re.compile(r"^\d+(\.\d+)*$")


def _matcher(constraint: str) -> Callable[[str], bool]:
    """Whether a Python version satisfies a Conda version spec. The usual `3.11.*` (and the
    `3.11.7.*` a bare `3.11.7` becomes, as in Conda's `python=3.11.7`) is the series itself or
    a prefix of the version, a lock's `==3.11.7` an equality; other specs, and versions such
    as `3.12.0rc1`, go to rattler's parser (loading it costs ~0.04 s)."""
    series = _SERIES.match(constraint)
    if series:
        base = series.group(1)
        return lambda version: (version == base or version.startswith(base + ".")) if _RELEASE.match(
            version) else _rattler_matcher(constraint)(version)
    exact = _EXACT.match(constraint)
    if exact:  # the pinned version a lock's hydration asks for
        return lambda version: version == exact.group(1)
    return _rattler_matcher(constraint)


def _rattler_matcher(constraint: str) -> Callable[[str], bool]:
    from rattler import Version, VersionSpec

    spec = VersionSpec(constraint)
    return lambda version: spec.matches(Version(version))


_PROBE_LOCK = threading.Lock()


def find_interpreter(constraint: Optional[str]) -> str:
    """Path of the newest interpreter whose version matches a Conda version spec."""
    matches = _matcher(constraint) if constraint else (lambda version: True)
    with _PROBE_LOCK:  # parallel resolutions share one probe of each interpreter
        found = installed_interpreters(constraint)
    matching = [v for v in found if matches(v)]
    if not matching:
        found = installed_interpreters()  # to name what is there
        raise ResolveError(
            "No Python matching '%s' is installed on this machine (METAFLOW_CONDA_PYTHON_SOURCE="
            "system never downloads one). Found: %s. Install that version, change the python "
            "requirement, or use METAFLOW_CONDA_PYTHON_SOURCE=conda."
            % (constraint, ", ".join(sorted(found, key=_newness)) or "none")
        )
    best = max(matching, key=_newness)
    return found[best]


def _newness(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:  # e.g. a local build's "3.12.0+": last choice
        return Version("0")


def version_of(path: str) -> str:
    version = _version_of(path)
    if not version:
        raise ResolveError("Could not run the Python at %s." % path)
    return version
