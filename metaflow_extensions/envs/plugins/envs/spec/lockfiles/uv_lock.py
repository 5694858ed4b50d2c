"""uv.lock -> LockedPypi, through `uv export --format pylock.toml`: uv itself decides what
its lock holds for the selected extras and groups (its format is uv's own and changes)."""
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Sequence, Set, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ...auth import Credentials
from ...errors import SpecError
from ...plumbing.uv import run_uv
from ...plumbing.uv_commands import export_pylock_args
from ..locked import LockedPypi
from .pylock import read_pylock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


def read_uv_lock(project_dir: Path, extras: Sequence[str] = (), groups: Sequence[str] = (),
                 dev: bool = True) -> LockedPypi:
    """The locked set of the uv project in `project_dir` (its pyproject.toml and uv.lock):
    uv's default groups (as `uv sync`; without `dev`, all but the `dev` group, as `uv sync
    --no-dev`), plus `extras` and `groups`; the project itself is not part of it (a flow
    ships its own code)."""
    project_dir = Path(project_dir)
    lock = project_dir / "uv.lock"
    if not lock.is_file():
        raise SpecError("No uv.lock in %s: run `uv lock` there first." % project_dir)
    if not (project_dir / "pyproject.toml").is_file():
        raise SpecError("%s has no pyproject.toml beside it: uv needs the project to read its lock." % lock)
    with tempfile.TemporaryDirectory(prefix="mfenvs-uvlock-") as tmp:
        out = Path(tmp) / "pylock.toml"
        # uv's message names an unknown extra or group, or what is wrong with the lock.
        run_uv(export_pylock_args(extras, groups, dev, str(out)), Credentials(), SpecError, "uv cannot read %s" % lock,
               cwd=str(project_dir))
        locked = read_pylock(out, source=str(lock))
    asked = direct_dependencies(project_dir / "pyproject.toml", extras, groups, dev)
    present = {e.name for e in locked.entries}
    return replace(locked, direct=tuple(n for n in asked if n in present))


def direct_dependencies(pyproject: Path, extras: Sequence[str] = (), groups: Sequence[str] = (),
                        dev: bool = True) -> Tuple[str, ...]:
    """The names the project asks for itself, as uv selects them: `[project] dependencies`,
    the `extras`, uv's default groups (`[tool.uv] default-groups`, else `dev`; without `dev`,
    not `dev`) and `groups` of `[dependency-groups]` (with `{include-group = ...}`)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data.get("project") or {}
    uv = (data.get("tool") or {}).get("uv") or {}
    table = data.get("dependency-groups") or {}
    defaults = uv.get("default-groups", ["dev"])
    chosen = list(table) if defaults == "all" else list(defaults if isinstance(defaults, list) else [])
    chosen = [g for g in chosen if dev or g != "dev"] + list(groups)
    lines = list(project.get("dependencies") or [])
    for extra in extras:
        lines += (project.get("optional-dependencies") or {}).get(extra) or []
    if "dev" in chosen:
        lines += uv.get("dev-dependencies") or []  # uv's older spelling of the dev group
    seen = set()  # type: Set[str]
    for group in chosen:
        lines += _group_lines(table, group, seen)
    names = []  # type: List[str]
    for line in lines:
        try:
            name = canonicalize_name(Requirement(line).name)
        except (InvalidRequirement, TypeError):
            continue  # uv locked the project: what it could not read is not in the lock either
        if name not in names:
            names.append(name)
    return tuple(names)


def _group_lines(table: Dict[str, Any], group: str, seen: Set[str]) -> List[str]:
    if group in seen:
        return []
    seen.add(group)
    lines = []  # type: List[str]
    for item in table.get(group) or []:
        if isinstance(item, dict) and isinstance(item.get("include-group"), str):
            lines += _group_lines(table, item["include-group"], seen)
        elif isinstance(item, str):
            lines.append(item)
    return lines
