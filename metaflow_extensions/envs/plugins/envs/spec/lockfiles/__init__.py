"""Lock files as input: a uv project's uv.lock or a pylock.toml (PEP 751) becomes an EnvSpec
whose PyPI part is exactly the lock (EnvSpec.pypi_locked), never re-resolved.

Entry points: `spec_from_uv_project(project_dir, extras, groups)` and `spec_from_pylock(path)`.
Hashed requirements files (every line `name==version --hash=...`) need no reader of their
own: `spec.parse_file` reads them and EnvSpec.pypi_no_deps says they are a lock.
"""
from pathlib import Path
from typing import Sequence

from ...errors import SpecError
from ..model import EnvSpec
from .pylock import read_pylock
from .uv_lock import read_uv_lock

__all__ = ["read_pylock", "read_uv_lock", "spec_from_lock_file", "spec_from_pylock", "spec_from_uv_project"]


def spec_from_uv_project(project_dir: Path, extras: Sequence[str] = (), groups: Sequence[str] = (),
                         dev: bool = True) -> EnvSpec:
    """The request for the environment the uv.lock of `project_dir` locks (uv's default groups,
    less `dev` without `dev`, plus `extras` and `groups`). Python: the caller's choice, checked
    against the lock's requires-python when resolving."""
    return EnvSpec(pypi_locked=read_uv_lock(Path(project_dir), extras, groups, dev))


def spec_from_pylock(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> EnvSpec:
    """The request for the environment the pylock.toml at `path` locks; `extras` and `groups`
    select what its markers may test."""
    return EnvSpec(pypi_locked=read_pylock(Path(path), extras, groups))


def spec_from_lock_file(path: str, kind: str, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> EnvSpec:
    """`spec_from_pylock` or, for kind "uv-lock", `spec_from_uv_project` of the lock's folder."""
    if kind == "pylock":
        return spec_from_pylock(Path(path), extras, groups)
    if Path(path).name != "uv.lock":
        raise SpecError("'%s' is not named uv.lock: uv reads a project's lock only under that name." % path)
    return spec_from_uv_project(Path(path).parent, extras, groups)
