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

Even in a race: another process may swap a path for a symbolic link to someone else's
directory at any moment, so ownership is proved, markers written and trees deleted through
a descriptor of the directory itself (opened without following a symbolic link), never by
its name again (see dirfd.py). A directory another user owns or can write to, or that sits
in a directory others can write to (without the sticky bit), is refused: its owner could
replace what is installed there (see strict_modes.py).
"""
import json
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Set, Tuple

from .. import layout, settings
from ..errors import HydrateError
from ..ids import is_hex_id
from ..lock import ResolvedEnvironment
from .dirfd import (Opened, empty_at, exists_at, has_entries_at, make_parents, move_aside, read_at, regular_at,
                    rmtree_at, subdir_at, write_at)
from .strict_modes import foreign, insecure

MARKER = layout.PREFIX_COMPLETE
OWNER_MARKER = layout.PREFIX_OWNER
MANIFEST = layout.PREFIX_MANIFEST
ENV_ID_FILE = layout.PREFIX_ENV_ID
NAMED_DIR = layout.CACHE_ENVS_NAMED
_OWNER_TEXT = "Made by metaflow-envs, which may delete or re-create this directory.\n"


# ---- layout ------------------------------------------------------------------------------
def envs_root() -> Path:
    """Not created here: planning a creation (`create --dry-run`) makes no directory."""
    return settings.cache_root() / layout.CACHE_ENVS


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


def mark_complete(prefix: "Claimed", env: ResolvedEnvironment) -> None:
    """Through the claimed directory's descriptor, once it is checked to be still at its path:
    a prefix swapped during creation is never marked complete (nor is what replaced it)."""
    prefix.check_in_place()
    write_at(prefix.fd, ENV_ID_FILE, "%s:%s:%s\n" % (env.req_id, env.full_id, env.arch))
    write_at(prefix.fd, MARKER, env.full_id + "\n")  # last: the prefix is complete


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
    message; None when it may: it does not exist, is empty, or is ours, and no other user
    can replace it."""
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
        unsafe = insecure(Path(path))
        if unsafe:
            return unsafe + ". Choose a directory of your own that only you can write to."
        if os.path.isdir(path) and not owns(path) and has_entries(path):
            return ("it is a non-empty directory that metaflow-envs did not create. Choose an empty or new "
                    "directory, or remove it yourself.")
        return None
    return why + ". Choose an empty or new directory."


def owns(path: Path) -> bool:
    """Whether metaflow-envs made directory `path` (it carries OWNER_MARKER, or a completion
    marker holding a full_id from an earlier version). Reads without touching access times."""
    try:
        with Opened(path) as opened:
            return _owns_at(opened.fd)
    except OSError:  # absent, a symbolic link or not a directory
        return False


def has_entries(path: Path) -> bool:
    with os.scandir(path) as entries:
        return any(True for _ in entries)


def claim_dir(path: Path) -> None:
    """Mark directory `path` (new, empty, or ours holding only our markers) as ours before
    anything goes into it; one of ours that holds more is refused, not emptied."""
    with claim(path, empty_ours=False):
        pass


class Claimed:
    """A directory made ours by `claim` and held open: what goes into it by the tool goes
    through `fd`, never through its name, which another process could swap meanwhile."""

    def __init__(self, opened: "Opened", adopted: bool) -> None:
        self.path = opened.path
        self.fd = opened.fd
        self.adopted = adopted  # an empty directory we were handed: kept if creation fails
        self._opened = opened

    def check_in_place(self) -> None:
        """Fail when `path` no longer names this directory: what was written meanwhile by
        name (the installers work by path) may have gone elsewhere, and must not be trusted."""
        if not self._opened.in_place():
            raise HydrateError("%s was moved or replaced by another process while metaflow-envs was filling it: "
                               "nothing was marked complete. Make sure nothing else works in that directory, "
                               "and try again." % self.path)

    def clear(self) -> None:
        """Empty it (but for its owner marker) through its descriptor: a crash midway leaves a
        directory still marked as ours."""
        empty_at(self.fd, self.path, keep=(OWNER_MARKER,))

    def __enter__(self) -> "Claimed":
        return self

    def __exit__(self, *exc: object) -> None:
        self._opened.close()


def claim(prefix: Path, empty_ours: bool = True) -> Claimed:
    """Make `prefix` ours and empty (but for the marker), checking again (under the prefix's
    lock, through the directory's descriptor): a new directory is made here (not writable by
    group or others), an empty one is adopted, one of ours is emptied (`empty_ours`). Use it
    as a context manager (it holds the directory open)."""
    prefix = check_target(prefix)
    make_parents(prefix.parent)
    try:
        os.mkdir(prefix, 0o755)
        made = True
    except FileExistsError:
        made = False
    try:
        opened = Opened(prefix)
    except OSError as err:  # swapped for a symbolic link or a file since the check
        raise HydrateError("Refusing to create an environment at %s: it is no longer a directory (%s). Choose an "
                           "empty or new directory." % (prefix, err.strerror)) from None
    try:
        why = foreign(os.fstat(opened.fd))
        owned = _owns_at(opened.fd)
        if why is None and not (owned and empty_ours) and has_entries_at(opened.fd, but=(OWNER_MARKER, MANIFEST)):
            why = "is a non-empty directory that metaflow-envs did not create" if not owned else "is not empty"
        if why:
            raise HydrateError("Refusing to create an environment at %s: it %s. Choose an empty or new directory "
                               "of your own." % (prefix, why))
        claimed = Claimed(opened, adopted=not made and not owned)
        write_at(opened.fd, OWNER_MARKER, _OWNER_TEXT)  # first: from now on it is ours
        if owned:
            claimed.clear()
        return claimed
    except BaseException:
        opened.close()
        raise


def write_owned(directory: Path, name: str, text: str, mode: int = 0o644) -> None:
    """Write file `name` in `directory`, only if it is ours, through its descriptor (never
    through a symbolic link, whatever was swapped in)."""
    with Opened(directory) as opened:
        if not _owns_at(opened.fd):
            raise HydrateError("Refusing to write into %s: metaflow-envs did not create it (it has no %s file)."
                               % (directory, OWNER_MARKER))
        if exists_at(opened.fd, name):
            os.unlink(name, dir_fd=opened.fd)
        write_at(opened.fd, name, text, mode)


def remove_owned(path: Path, keep_dir: bool = False, listed_only: bool = False) -> None:
    """The one way a prefix (or another directory we fill) is deleted: only when `owns`
    proves metaflow-envs made it, checked through the directory's descriptor. The directory
    is moved aside (by a rename within its parent, checked to have moved that very
    directory), then its tree deleted without following symbolic links. `keep_dir` empties
    it in place instead (one we were handed empty). `listed_only` (a `create --into-dir`
    folder) removes only what its MANIFEST lists, and refuses, removing nothing, when
    anything else is there (see `unlisted_entries`)."""
    path = Path(path).absolute()
    try:
        opened = Opened(path)
    except OSError:
        opened = None
    if opened is None or not _owns_at(opened.fd):
        if opened is not None:
            opened.close()
        raise HydrateError("Refusing to remove %s: metaflow-envs did not create it (it has no %s file); remove "
                           "it yourself if you no longer need it." % (path, OWNER_MARKER))
    with opened:
        write_at(opened.fd, OWNER_MARKER, _OWNER_TEXT)  # first (an earlier version's prefix may lack it)
        if listed_only:
            _remove_listed(opened, path)
            os.unlink(OWNER_MARKER, dir_fd=opened.fd)
            left = sorted(os.listdir(opened.fd))
            if keep_dir or not left:
                if not keep_dir:
                    os.rmdir(move_aside(opened), dir_fd=opened.parent_fd)
                return
            raise HydrateError("Kept %s: %s appeared in it while metaflow-envs was removing what it wrote there."
                               % (path, ", ".join(left[:5])))
        if keep_dir:
            empty_at(opened.fd, path, keep=(OWNER_MARKER,))
            os.unlink(OWNER_MARKER, dir_fd=opened.fd)
            return
        rmtree_at(opened.parent_fd, move_aside(opened), path)


# ---- what `create --into-dir` wrote ------------------------------------------------------
def write_manifest(directory: Path, extra: Iterable[str] = ()) -> None:
    """Record in MANIFEST every entry of `directory` (ours, just filled) and the `extra`
    names still to be written: all that `remove_owned(listed_only=True)` may remove."""
    with Opened(directory) as opened:
        entries = sorted(set(_tree_at(opened.fd)) | set(extra))
        if not _owns_at(opened.fd):
            raise HydrateError("Refusing to write into %s: metaflow-envs did not create it." % directory)
        write_at(opened.fd, MANIFEST, json.dumps({"version": 1, "written": entries}, indent=0) + "\n")


def unlisted_entries(path: Path) -> List[str]:
    """The entries (relative paths) of directory `path`, ours, that its MANIFEST does not
    list: what the user added. A `__pycache__` holding only `.pyc` files counts as written
    (Python made it for the files we wrote). Without a MANIFEST (an earlier version's
    folder) every entry is unlisted."""
    with Opened(path) as opened:
        return _walk_written(opened.fd, _manifest_at(opened.fd), remove=False)


def _manifest_at(fd: int) -> Set[str]:
    """What the MANIFEST lists (read as untrusted: its names are only compared with entries
    found by walking the directory, never joined into paths)."""
    try:
        data = json.loads(read_at(fd, MANIFEST))
        written = data["written"] if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError):
        return set()
    return {w for w in written if isinstance(w, str)} if isinstance(written, list) else set()


def check_only_written(path: Path) -> None:
    """One HydrateError naming (up to five of) the entries of directory `path`, ours, that
    metaflow-envs did not write there (see `unlisted_entries`)."""
    _refuse_unlisted(path, unlisted_entries(path))


def _refuse_unlisted(path: Path, others: List[str]) -> None:
    if others:
        shown = ", ".join(others[:5]) + (" and %d more" % (len(others) - 5) if len(others) > 5 else "")
        raise HydrateError("Refusing to replace the content of %s: it holds %d entr%s that metaflow-envs did not "
                           "write there (%s). Move them elsewhere or remove them yourself, or choose another "
                           "directory." % (path, len(others), "y" if len(others) == 1 else "ies", shown))


def _remove_listed(opened: "Opened", path: Path) -> None:
    written = _manifest_at(opened.fd)
    _refuse_unlisted(path, _walk_written(opened.fd, written, remove=False))
    # Only the listed entries go: anything added since the check above stays (and so does
    # the directory, which then cannot be removed).
    _walk_written(opened.fd, written, remove=True)
    if exists_at(opened.fd, MANIFEST):
        os.unlink(MANIFEST, dir_fd=opened.fd)


def _walk_written(fd: int, written: Set[str], remove: bool, rel: str = "", all_written: bool = False) -> List[str]:
    """Entries under directory `fd` that `written` does not list (as `rel/name`); with
    `remove`, deletes those it lists, through descriptors, without following links."""
    unlisted = []
    with os.scandir(fd) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        name = rel + entry.name
        if not rel and entry.name in (OWNER_MARKER, MANIFEST):
            continue
        is_dir = entry.is_dir(follow_symlinks=False)
        bytecode = is_dir and entry.name == "__pycache__" and _bytecode_only(fd, entry.name)
        if not (all_written or name in written or bytecode):
            unlisted.append(name)
            continue
        if is_dir:
            with subdir_at(fd, entry.name) as sub:
                unlisted += _walk_written(sub, written, remove, name + "/", all_written or bytecode)
            if remove:
                try:
                    os.rmdir(entry.name, dir_fd=fd)
                except OSError:  # holds something added since: it stays
                    pass
        elif remove:
            os.unlink(entry.name, dir_fd=fd)
    return unlisted


def _bytecode_only(fd: int, name: str) -> bool:
    with subdir_at(fd, name) as sub, os.scandir(sub) as scan:
        return all(e.name.endswith(".pyc") and e.is_file(follow_symlinks=False) for e in scan)


def _tree_at(fd: int, rel: str = "") -> List[str]:
    out = []
    with os.scandir(fd) as scan:
        entries = list(scan)
    for entry in entries:
        if not rel and entry.name in (OWNER_MARKER, MANIFEST):
            continue
        out.append(rel + entry.name)
        if entry.is_dir(follow_symlinks=False):
            with subdir_at(fd, entry.name) as sub:
                out += _tree_at(sub, rel + entry.name + "/")
    return out


def _owns_at(fd: int) -> bool:
    if regular_at(fd, OWNER_MARKER):
        return True
    return regular_at(fd, MARKER) and is_hex_id(read_at(fd, MARKER).strip())
