"""`create --into-dir DIR` with a pathspec: the step's code package, extracted into DIR, so
the step's code runs in its environment (`DIR/__conda_python` links to its Python).

DIR follows the prefixes' ownership rule (hydrate/prefix.py): it must be new, empty, or
made by an earlier `create --into-dir` (it carries the ownership marker); only then may
--force replace its content, and only what the tool wrote there (listed in its manifest):
anything else found there (the `.metaflow` datastore of a run of the step's code, a file
the user added) makes --force refuse, removing nothing. Anything else is refused, whatever
the flags.
"""
import os
import shlex
import tarfile
from pathlib import Path
from typing import Any

from ..errors import EnvError, SpecError
from ..plumbing.cache import partial_name
from ..hydrate.dirfd import make_parents
from ..hydrate.prefix import (MANIFEST, OWNER_MARKER, check_only_written, claim_dir, owns, refusal, remove_owned,
                              write_manifest, write_owned)

PYTHON_LINK = "__conda_python"


def check_into_dir(into_dir: Path, force: bool) -> None:
    """Before any work: DIR must be absent, an empty directory, or ours (replaced with --force)."""
    why = refusal(into_dir)
    if why:
        raise SpecError("Refusing --into-dir %s: %s" % (into_dir, why))
    if not into_dir.is_dir() or all(p.name in (OWNER_MARKER, MANIFEST) for p in into_dir.iterdir()):
        return
    if not force:
        raise SpecError("--into-dir %s is not empty: choose another directory or add --force to replace "
                        "its content." % into_dir)
    check_only_written(into_dir)


def extract(code: Any, into_dir: Path) -> None:
    """Extract the code package into `into_dir` (checked by check_into_dir), all or nothing."""
    into_dir = into_dir.absolute()
    make_parents(into_dir.parent)
    staging = into_dir.parent / partial_name()
    os.mkdir(staging, 0o755)  # not mkdtemp: DIR gets the usual permissions (not 0700), never group-writable
    claim_dir(staging)
    try:
        tar = code.tarball
        members = tar.getmembers()
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(path=str(staging), members=members, **kwargs)
        write_manifest(staging, extra=[PYTHON_LINK])
        if owns(into_dir):
            remove_owned(into_dir, listed_only=True)  # what the user added there makes it refuse
        try:
            staging.replace(into_dir)  # over nothing, or over an empty directory
        except OSError as err:
            raise EnvError("Could not put the code package at --into-dir %s (%s): something was added there "
                           "meanwhile; try again." % (into_dir, err.strerror)) from None
    except BaseException:
        remove_owned(staging)
        raise


def link_python(into_dir: Path, python: Path) -> Path:
    """`DIR/__conda_python`, running the environment's Python. A script, not a symlink: a
    virtualenv's Python (METAFLOW_CONDA_PYTHON_SOURCE=system) finds its environment only when
    started by its own path, and a symlink elsewhere would start the bare interpreter."""
    write_owned(into_dir, PYTHON_LINK, "#!/bin/sh\nexec %s \"$@\"\n" % shlex.quote(str(python)), mode=0o755)
    return into_dir / PYTHON_LINK


def prepare_dir(into_dir: Path, force: bool) -> None:
    """Without a code package: an empty DIR of ours (emptied with --force)."""
    if force and owns(into_dir):
        remove_owned(into_dir, keep_dir=True, listed_only=True)
    claim_dir(into_dir)
    write_manifest(into_dir, extra=[PYTHON_LINK])


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
