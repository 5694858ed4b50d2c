"""Where prefixes are, whether one is ours, and whether it is complete.

Layout: `<cache>/envs/<arch>/<req_id[:16]>/<full_id[:16]>` is an environment's own prefix
(what flows use); `create --name NAME` makes `<cache>/envs/named/NAME`; `--prefix` any path.

A prefix is complete only when its marker file (holding the full_id) exists; the marker is
written last, so an interrupted creation is detected and redone by the next run.

Never destroy what we did not create: a prefix is ours when it carries OWNER_MARKER, written
before anything else goes into it (or, from earlier versions, a completion marker). Only a
new path or an empty directory becomes ours; anything else (a non-empty directory without
the marker, a file, a symbolic link, the filesystem root, HOME, the cache or a parent of
it) is refused before anything is touched, whatever the flags. `remove_owned` is the only
way a prefix is ever deleted, and it proves ownership first.
"""
import os
import shutil
import sys
from pathlib import Path
from typing import Iterator, Optional, Tuple

from .. import settings
from ..errors import HydrateError
from ..ids import is_hex_id
from ..lock import ResolvedEnvironment

MARKER = ".metaflow-envs-complete"
OWNER_MARKER = ".metaflow-envs-prefix"
ENV_ID_FILE = ".metaflow-envs-id"  # `req_id:full_id:arch`, read by tasks for their metadata
NAMED_DIR = "named"
_OWNER_TEXT = "Made by metaflow-envs, which may delete or re-create this directory.\n"


# ---- layout ------------------------------------------------------------------------------
def envs_root() -> Path:
    """Not created here: planning a creation (`create --dry-run`) makes no directory."""
    return settings.cache_root() / "envs"


def own_prefix(env: ResolvedEnvironment) -> Path:
    """Where `env` is created when given no prefix."""
    return envs_root() / env.arch / env.req_id[:16] / env.full_id[:16]


def named_prefix(name: str) -> Path:
    return envs_root() / NAMED_DIR / name


def named_prefixes() -> Iterator[Tuple[str, Path]]:
    root = envs_root() / NAMED_DIR
    if root.is_dir():
        for path in sorted(root.iterdir()):
            if path.is_dir():
                yield path.name, path


def python_in(prefix: Path) -> Path:
    if sys.platform == "win32":  # pragma: no cover - not a supported host
        return prefix / "python.exe"
    return prefix / "bin" / "python"


# ---- completion --------------------------------------------------------------------------
def is_complete(prefix: Path, env: ResolvedEnvironment) -> bool:
    return marker_full_id(prefix) == env.full_id


def marker_full_id(prefix: Path) -> str:
    """The full_id the completion marker of `prefix` holds ("" if none). Reading it counts
    as a use of the prefix (gc looks at the marker's access time)."""
    try:
        return (Path(prefix) / MARKER).read_text().strip()
    except OSError:
        return ""


def mark_complete(prefix: Path, env: ResolvedEnvironment) -> None:
    (prefix / ENV_ID_FILE).write_text("%s:%s:%s\n" % (env.req_id, env.full_id, env.arch))
    (prefix / MARKER).write_text(env.full_id + "\n")  # last: the prefix is complete


def read_marker(path: Path) -> str:
    """A marker's stripped content ("" if unreadable), read without touching its access
    time where the OS allows it (gc's dry run must not make a prefix look used)."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:  # O_NOATIME needs ownership
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return ""
    with os.fdopen(fd) as handle:
        return handle.read(4096).strip()


# ---- ownership ---------------------------------------------------------------------------
def check_target(prefix: Path) -> Path:
    """`prefix` as an absolute path, if an environment may be created there; else one
    HydrateError naming it and what to do. Touches nothing."""
    prefix = Path(prefix).absolute()
    why = refusal(prefix)
    if why:
        raise HydrateError("Refusing to create an environment at %s: %s" % (prefix, why))
    return prefix


def refusal(path: Path) -> Optional[str]:
    """Why metaflow-envs may not fill (and later delete) directory `path`, as the end of a
    message; None when it may: it does not exist, is empty, or is ours."""
    real = Path(os.path.realpath(path))
    cache = Path(os.path.realpath(settings.cache_root()))
    home = os.path.expanduser("~")
    if real == Path(real.anchor):
        why = "it is the filesystem root"
    elif home != "~" and real == Path(os.path.realpath(home)):
        why = "it is your home directory"
    elif real == cache or real in cache.parents:
        why = "it holds the metaflow-envs cache (%s)" % cache
    elif os.path.islink(path):
        why = "it is a symbolic link"
    elif os.path.lexists(path) and not os.path.isdir(path):
        why = "it is a file"
    else:
        if os.path.isdir(path) and not owns(path) and has_entries(path):
            return ("it is a non-empty directory that metaflow-envs did not create. Choose an empty or new "
                    "directory, or remove it yourself.")
        return None
    return why + ". Choose an empty or new directory."


def owns(path: Path) -> bool:
    """Whether metaflow-envs made directory `path` (it carries OWNER_MARKER, or a completion
    marker holding a full_id from an earlier version). Reads without touching access times."""
    if os.path.islink(path) or not os.path.isdir(path):
        return False
    if _regular_file(Path(path) / OWNER_MARKER):
        return True
    legacy = Path(path) / MARKER
    return _regular_file(legacy) and is_hex_id(read_marker(legacy))


def has_entries(path: Path) -> bool:
    with os.scandir(path) as entries:
        return any(True for _ in entries)


def _regular_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def claim_dir(path: Path) -> None:
    """Mark directory `path` (new, empty or ours) as ours before anything goes into it."""
    path.mkdir(parents=True, exist_ok=True)
    (path / OWNER_MARKER).write_text(_OWNER_TEXT)


def claim(prefix: Path) -> bool:
    """Make `prefix` ours and empty (but for the marker), checking again (under the
    prefix's lock); returns whether it was an empty directory we were handed (kept if
    creation fails)."""
    check_target(prefix)
    if owns(prefix):
        clear(prefix)
        return False
    adopted = prefix.is_dir()
    claim_dir(prefix)
    return adopted


def clear(path: Path) -> None:
    """Empty an owned directory but for its owner marker, written first: a crash midway
    leaves a directory still marked as ours."""
    claim_dir(path)
    for entry in list(os.scandir(path)):
        if entry.name == OWNER_MARKER:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def remove_owned(path: Path, keep_dir: bool = False) -> None:
    """The one way a prefix (or another directory we fill) is deleted: only when `owns`
    proves metaflow-envs made it. `keep_dir` leaves the emptied directory (one we were
    handed empty)."""
    if not owns(path):
        raise HydrateError("Refusing to remove %s: metaflow-envs did not create it (it has no %s file); remove "
                           "it yourself if you no longer need it." % (path, OWNER_MARKER))
    clear(path)
    os.unlink(Path(path) / OWNER_MARKER)
    if not keep_dir:
        os.rmdir(path)
