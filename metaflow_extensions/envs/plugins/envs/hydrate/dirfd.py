"""Working on a directory through descriptors, never through its name again.

Another process may swap a path for a symbolic link to someone else's directory at any
moment. Code that checks a directory by name and then works on it by name can be turned
against that other directory; code that opens the directory once (without following a
symbolic link) and then checks, writes and deletes relative to that descriptor cannot.
"""
import os
import shutil
import stat
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Tuple

from ..errors import HydrateError

DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Opened:
    """Directory `path` held by a descriptor (opened without following a symbolic link), with
    a descriptor of its parent: checks and changes go through them, never through the names
    again, so a path swapped meanwhile cannot redirect them."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).absolute()
        self.name = self.path.name
        if not self.name:
            raise IsADirectoryError("the filesystem root")
        self.parent_fd = os.open(str(self.path.parent), DIR_FLAGS)
        try:
            self.fd = os.open(self.name, DIR_FLAGS | NOFOLLOW, dir_fd=self.parent_fd)
        except BaseException:
            os.close(self.parent_fd)
            raise

    def in_place(self) -> bool:
        """Whether the name still names this very directory."""
        try:
            st = os.stat(self.name, dir_fd=self.parent_fd, follow_symlinks=False)
        except OSError:
            return False
        return os.path.samestat(st, os.fstat(self.fd))

    def close(self) -> None:
        os.close(self.fd)
        os.close(self.parent_fd)

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_parents(directory: Path) -> None:
    """Create the missing directories above a prefix, none of them writable by group or
    others (os.makedirs gives the intermediate ones 0777 less the umask)."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass


@contextmanager
def subdir_at(fd: int, name: str) -> Iterator[int]:
    """A descriptor of directory `name` in directory `fd`, opened without following a
    symbolic link, closed on leaving."""
    sub = os.open(name, DIR_FLAGS | NOFOLLOW, dir_fd=fd)
    try:
        yield sub
    finally:
        os.close(sub)


def regular_at(fd: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def exists_at(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def has_entries_at(fd: int, but: Tuple[str, ...] = ()) -> bool:
    with os.scandir(fd) as entries:
        return any(e.name not in but for e in entries)


def read_at(fd: int, name: str) -> str:
    """A small file in directory `fd`, never through a symbolic link, without touching its
    access time where the OS allows it."""
    flags = os.O_RDONLY | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(name, flags | getattr(os, "O_NOATIME", 0), dir_fd=fd)
    except PermissionError:  # O_NOATIME needs ownership
        handle = os.open(name, flags, dir_fd=fd)
    with os.fdopen(handle) as reader:
        return reader.read(1 << 20)


def write_at(fd: int, name: str, text: str, mode: int = 0o644) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(os.open(name, flags, mode, dir_fd=fd), "w") as writer:  # (the umask applies)
        writer.write(text)


def empty_at(fd: int, path: Path, keep: Tuple[str, ...] = ()) -> None:
    with os.scandir(fd) as scan:
        entries = list(scan)
    for entry in entries:
        if entry.name in keep:
            continue
        if entry.is_dir(follow_symlinks=False):
            rmtree_at(fd, entry.name, path / entry.name)
        else:
            os.unlink(entry.name, dir_fd=fd)


def move_aside(opened: Opened) -> str:
    """Rename the directory to a new temp name in the same parent (both by descriptor) and
    return that name, once checked to be the very directory held open; anything else that
    a swap made us move is put back (if its name is still free) and refused."""
    from ..plumbing.cache import partial_name

    trash = partial_name()
    os.rename(opened.name, trash, src_dir_fd=opened.parent_fd, dst_dir_fd=opened.parent_fd)
    st = os.stat(trash, dir_fd=opened.parent_fd, follow_symlinks=False)
    if not os.path.samestat(st, os.fstat(opened.fd)):
        if not exists_at(opened.parent_fd, opened.name):
            os.rename(trash, opened.name, src_dir_fd=opened.parent_fd, dst_dir_fd=opened.parent_fd)
            trash = opened.name
        raise HydrateError("Refusing to remove %s: it was replaced by another process while being removed (what "
                           "replaced it is now at %s, untouched)." % (opened.path, opened.path.parent / trash))
    return trash


def rmtree_at(dir_fd: int, name: str, path: Path) -> None:
    """Delete tree `name` in directory `dir_fd` without ever following a symbolic link
    (shutil.rmtree works through descriptors where `avoids_symlink_attacks`); refused where
    Python cannot do that, rather than deleting through names a swap could redirect."""
    if not shutil.rmtree.avoids_symlink_attacks:  # type: ignore[attr-defined]
        raise HydrateError("Refusing to remove %s: Python cannot delete a directory tree on this system without "
                           "following symbolic links; remove it yourself." % path)
    if sys.version_info >= (3, 11):
        shutil.rmtree(name, dir_fd=dir_fd)
        return
    # Before 3.11 rmtree takes no dir_fd: the descriptor walk it runs inside (the same
    # signature in every version before 3.11), from the directory opened here.
    with subdir_at(dir_fd, name) as fd:
        shutil._rmtree_safe_fd(fd, str(path), _reraise)  # type: ignore[attr-defined]
    os.rmdir(name, dir_fd=dir_fd)


def _reraise(*args: object) -> None:
    raise  # called by rmtree from within the handler of the error
