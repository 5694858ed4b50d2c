"""uv.lock -> LockedPypi, through `uv export --format pylock.toml`: uv itself decides what
its lock holds for the selected extras and groups (its format is uv's own and changes)."""
import tempfile
from pathlib import Path
from typing import Sequence

from ...auth import Credentials
from ...errors import SpecError
from ...plumbing.uv import run_uv
from ..locked import LockedPypi
from .pylock import read_pylock


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
    args = ["export", "--frozen", "--offline", "--format", "pylock.toml", "--no-emit-project", "--quiet"]
    for extra in extras:
        args += ["--extra", extra]
    for group in groups:
        args += ["--group", group]
    if not dev and "dev" not in groups:
        args.append("--no-dev")
    with tempfile.TemporaryDirectory(prefix="mfenvs-uvlock-") as tmp:
        out = Path(tmp) / "pylock.toml"
        # uv's message names an unknown extra or group, or what is wrong with the lock.
        run_uv(args + ["-o", str(out)], Credentials(), SpecError, "uv cannot read %s" % lock, cwd=str(project_dir))
        return read_pylock(out, source=str(lock))
