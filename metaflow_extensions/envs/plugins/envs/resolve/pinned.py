"""A locked PyPI set (uv.lock, pylock.toml) -> lock entries for one target, without resolving.

Markers are evaluated with the TARGET's marker environment and wheels chosen by the target's
tags (a Mac user locking for linux-64 is the normal case): this machine is never looked at.
No index is asked: every URL and sha256 comes from the lock, and is verified at install.
"""
from typing import Dict, List, Optional

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from ..auth import strip_credentials
from ..errors import ResolveError
from ..kinds import PackageKind
from ..lock import LockedPackage
from ..spec.locked import LockedEntry, LockedFile, LockedPypi
from .platforms import PlatformInfo, best_wheel
from .pypi import _tag_string


def marker_environment(target: PlatformInfo, python_version: str) -> Dict[str, str]:
    """PEP 508 marker variables as CPython on `target` reports them (`platform_release` and
    `platform_version`, the kernel's, cannot be known ahead: left empty)."""
    full = python_version if python_version.count(".") >= 2 else python_version + ".0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": target.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux" if target.is_linux else "Darwin",
        "platform_version": "",
        "python_full_version": full,
        "python_version": ".".join(full.split(".")[:2]),
        "sys_platform": "linux" if target.is_linux else "darwin",
    }


def resolve_locked(locked: LockedPypi, python_version: str, target: PlatformInfo,
                   provided: Optional[Dict[str, str]] = None) -> List[LockedPackage]:
    """The packages `locked` installs on `target` with Python `python_version`. `provided`:
    PyPI names Conda already installs (a mixed environment), which the lock may not also hold."""
    _check_python(locked, python_version)
    environment = marker_environment(target, python_version)
    wanted = [e for e in locked.entries if _applies(e, locked, environment)]
    overlap = sorted(e.name for e in wanted if e.name in (provided or {}))
    if overlap:
        raise ResolveError("Both Conda and %s install %s: remove %s from the Conda packages (the PyPI part "
                           "of the environment is exactly the lock)." % (locked.source, ", ".join(overlap),
                                                                         "it" if len(overlap) == 1 else "them"))
    target_tags = target.wheel_tags(python_version)
    chosen = {e: best_wheel(e.wheels, target_tags) for e in wanted}
    lacking = [e for e, wheel in chosen.items() if wheel is None]
    if lacking:
        raise ResolveError(
            "%s has no wheel for %s (Python %s) for: %s. Lock for that platform (uv lock covers every "
            "platform unless [tool.uv] environments limits it), or pin versions that publish wheels for it%s."
            % (locked.source, target.subdir, python_version, ", ".join(_described(e) for e in lacking),
               " (wheels count for macOS %s and older: METAFLOW_CONDA_OSX_VERSION sets it)" % target.system_version
               if target.os == "osx" else ""))
    return sorted((_package(e, w) for e, w in chosen.items() if w is not None), key=lambda p: p.name)


def _check_python(locked: LockedPypi, python_version: str) -> None:
    if locked.requires_python and not SpecifierSet(locked.requires_python).contains(python_version, prereleases=True):
        raise ResolveError("%s requires Python %s, but the environment has Python %s: ask for a Python it "
                           "allows (--python, or python= on the decorator)."
                           % (locked.source, locked.requires_python, python_version))


def _applies(entry: LockedEntry, locked: LockedPypi, environment: Dict[str, str]) -> bool:
    if not entry.marker:
        return True
    # pylock.toml markers may also test the selected extras and dependency groups (PEP 751).
    lock_environment = dict(environment, extras=frozenset(locked.extras),
                            dependency_groups=frozenset(locked.groups))
    return Marker(entry.marker).evaluate(lock_environment, context="lock_file")  # type: ignore[arg-type]


def _described(entry: LockedEntry) -> str:
    if entry.wheels:
        why = "wheels for other platforms only"
    elif entry.sdist:
        why = "a source distribution only"
    else:
        why = "no file: a local directory or VCS source"
    return "%s==%s (%s)" % (entry.name, entry.version, why)


def _package(entry: LockedEntry, wheel: LockedFile) -> LockedPackage:
    return LockedPackage(
        kind=PackageKind.PYPI,
        name=entry.name,
        version=entry.version,
        build=_tag_string(wheel.filename),
        filename=wheel.filename,
        url=strip_credentials(wheel.url),
        sha256=wheel.sha256,
        size=wheel.size,
    )
