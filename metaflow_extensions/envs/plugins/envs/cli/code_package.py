"""`create --into-dir DIR` with a pathspec: the step's code package, extracted into DIR, so
the step's code runs in its environment (`DIR/__conda_python` links to its Python)."""
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from ..errors import EnvError, SpecError

PYTHON_LINK = "__conda_python"


def check_into_dir(into_dir: Path, force: bool) -> None:
    """Before any work: DIR must be absent, an empty directory, or replaced with --force."""
    if into_dir.exists() and not force:
        if not into_dir.is_dir():
            raise SpecError("--into-dir %s exists and is not a directory: choose another path or add --force "
                            "to replace it." % into_dir)
        if any(into_dir.iterdir()):
            raise SpecError("--into-dir %s is not empty: choose another directory or add --force to replace "
                            "its content." % into_dir)


def code_of(pathspec: str) -> Any:
    """The MetaflowCode of the step (its first task's), else of its run."""
    from metaflow import Run, Step, namespace
    from metaflow.exception import MetaflowException

    namespace(None)
    try:
        step = Step(pathspec, _namespace_check=False)
        task = step.task
        code = task.code if task is not None else None
        if code is None:
            code = Run("/".join(pathspec.split("/")[:2]), _namespace_check=False).code
    except MetaflowException as err:
        raise EnvError("Cannot read step %s with the Metaflow client (%s): check the pathspec and "
                       "METAFLOW_DEFAULT_METADATA." % (pathspec, str(err).strip().splitlines()[-1])) from None
    if code is None:
        raise EnvError("Step %s has no code package (local runs save one only with "
                       "METAFLOW_FEAT_ALWAYS_UPLOAD_CODE_PACKAGE=1): drop --into-dir." % pathspec)
    return code


def extract(code: Any, into_dir: Path, force: bool) -> None:
    """Extract the code package into `into_dir`, all or nothing."""
    into_dir = into_dir.absolute()
    into_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = into_dir.parent / (".%s.partial" % into_dir.name)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        tar = code.tarball
        members = tar.getmembers()
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(path=str(staging), members=members, **kwargs)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if into_dir.exists():
        if into_dir.is_dir() and not into_dir.is_symlink():
            shutil.rmtree(into_dir)
        else:
            into_dir.unlink()
    os.replace(staging, into_dir)


def link_python(into_dir: Path, python: Path) -> Path:
    into_dir.mkdir(parents=True, exist_ok=True)
    link = into_dir / PYTHON_LINK
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(python)
    return link


def prepare_dir(into_dir: Path, force: bool) -> None:
    """Without a code package: an empty DIR (replaced with --force)."""
    if force and into_dir.exists():
        if into_dir.is_dir() and not into_dir.is_symlink():
            shutil.rmtree(into_dir)
        else:
            into_dir.unlink()
    into_dir.mkdir(parents=True, exist_ok=True)



def pythonpath(into_dir: Path) -> str:
    """What the step's code needs on sys.path: the packaged Metaflow (and extensions), if the
    package carries them, then the user's code."""
    parts = [into_dir / ".mf_code"] if (into_dir / ".mf_code").is_dir() else []
    return os.pathsep.join(str(p) for p in parts + [into_dir])


def script_name(code: Any) -> str:
    try:
        return code.script_name or "<your flow file>"
    except Exception:  # older Metaflow clients: no script name
        return "<your flow file>"
