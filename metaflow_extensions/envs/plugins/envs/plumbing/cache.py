"""The local package cache: `<cache>/pkgs/<kind>/<sha256>/<filename>`, content-addressed.

An entry only ever appears by atomic rename after its sha256 was checked, so a file that
exists is complete; an interrupted download leaves only a `.partial-<pid>-*` file nobody
reads, and the next process writing into that directory removes it once it is stale.

Every temp file metaflow-envs writes is named by `partial_file` (`.partial-<pid>-<random>`):
the pid tells whether its writer is still running. A partial is stale when its writer is not
running on this host and it was left untouched for PARTIAL_GRACE seconds (a writer on
another host sharing the file system keeps touching it), or when it was untouched for a
day whoever wrote it (pids are reused). A partial of a running process is never removed.
"""
import hashlib
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, NamedTuple, Optional

from .. import settings
from ..layout import CACHE_PACKAGES
from ..errors import HydrateError

if TYPE_CHECKING:  # only its kind, sha256, filename and size are read
    from ..lock import LockedPackage

_CHUNK = 1 << 20
PARTIAL = ".partial-"
PARTIAL_GRACE = 600.0
PARTIAL_MAX_AGE = 86400.0
# pid_t is a signed 32-bit int wherever we run: a larger number cannot name a process, so the
# file is not one of ours to judge by its pid (only the age rule applies to it).
_PID_MAX = 2 ** 31 - 1


def sha256_of(path: Path) -> str:
    return digest_of(path, "sha256")


def digest_of(path: Path, name: str) -> str:
    """The hex digest of file `path` by hashlib's algorithm `name` (sha256, md5...)."""
    digest = hashlib.new(name)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def is_safe_filename(filename: object) -> bool:
    """A plain file name: package filenames become cache paths and datastore keys."""
    return (isinstance(filename, str) and filename not in ("", ".", "..")
            and not any(c in filename for c in "/\\\0"))


def safe_filename(filename: str) -> str:
    """Package filenames come from remote metadata: never let one leave its folder."""
    if not is_safe_filename(filename):
        raise HydrateError("Refusing unsafe package filename %r." % filename)
    return filename


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(value: object) -> bool:
    """A sha256 as locks, indexes and hash options write it: 64 lowercase hex digits."""
    return isinstance(value, str) and bool(_SHA256.match(value))


class CacheEntry(NamedTuple):
    """One file of the package cache (any file found in a `<kind>/<sha256>/` folder; the
    folder names are as found on disk, not validated: the caller decides what to trust)."""

    kind: str
    sha256: str
    path: Path


class PackageCache:
    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root else settings.cache_dir(CACHE_PACKAGES)

    def path(self, kind: str, sha256: str, filename: str) -> Path:
        if not is_sha256(sha256):
            raise HydrateError("Invalid sha256 %r for %s." % (sha256, filename))
        return self.root / kind / sha256 / safe_filename(filename)

    def path_for(self, pkg: "LockedPackage") -> Path:
        return self.path(pkg.kind, pkg.sha256, pkg.filename)

    def has(self, pkg: "LockedPackage") -> bool:
        """Present and of the size the lock says (a truncated entry counts as missing, so it
        is fetched again; a same-size corruption is caught by `discard_if_corrupt`)."""
        try:
            size = self.path_for(pkg).stat().st_size
        except FileNotFoundError:
            return False
        return pkg.size is None or size == pkg.size

    def discard_if_corrupt(self, pkg: "LockedPackage") -> bool:
        """Check an entry against its sha256; remove it (so it is fetched again) if it does
        not match. Returns whether it was removed."""
        path = self.path_for(pkg)
        try:
            if sha256_of(path) == pkg.sha256:
                return False
            path.unlink()
        except FileNotFoundError:
            pass
        return True

    def add_file(self, source: Path, kind: str) -> Path:
        """Copy a local file (e.g. a wheel we built) into the cache; returns its cache path."""
        digest = sha256_of(source)
        dest = self.path(kind, digest, source.name)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.partial_path(dest)
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        return dest

    def entries(self) -> Iterator[CacheEntry]:
        """Every complete entry, sorted (temp `.partial-*` files are not entries)."""
        for sha_dir in self.entry_dirs():
            for path in sorted(p for p in sha_dir.iterdir() if not p.name.startswith(PARTIAL)):
                yield CacheEntry(sha_dir.parent.name, sha_dir.name, path)

    def entry_dirs(self) -> Iterator[Path]:
        """Every `<kind>/<sha256>/` folder, sorted: where entries and their temp files live."""
        if not self.root.is_dir():
            return
        for kind_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            yield from sorted(p for p in kind_dir.iterdir() if p.is_dir())

    def partial_path(self, dest: Path) -> Path:
        return partial_file(dest.parent)


def partial_name() -> str:
    """A new name for a temp file or directory of this process: `.partial-<pid>-<random>`."""
    return "%s%d-%s" % (PARTIAL, os.getpid(), secrets.token_hex(8))


def partial_file(directory: Path, clean: bool = True) -> Path:
    """A new empty temp file in `directory`, to be renamed over its target once written.
    Unless `clean` is False (a directory that is not ours), stale partials there go first."""
    directory.mkdir(parents=True, exist_ok=True)
    if clean:
        remove_stale_partials(directory)
    while True:
        path = directory / partial_name()
        try:  # not mkstemp: the file it becomes keeps the usual permissions (umask), not 0600
            os.close(os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path


def stale_partials(directory: Path) -> List[Path]:
    """The stale `.partial-*` files directly in `directory`."""
    now = time.time()
    try:
        with os.scandir(directory) as entries:
            candidates = [Path(e.path) for e in entries if e.name.startswith(PARTIAL)]
    except OSError:
        return []
    return [path for path in candidates if is_stale_partial(path, now)]


def remove_stale_partials(directory: Path) -> None:
    for path in stale_partials(directory):
        try:
            path.unlink()
        except OSError:  # gone already (another process cleaned it), or not ours to remove
            pass


def is_stale_partial(path: Path, now: Optional[float] = None) -> bool:
    if not path.name.startswith(PARTIAL):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    idle = (time.time() if now is None else now) - st.st_mtime
    return is_stale_work(path.name, PARTIAL, idle)


def is_stale_work(name: str, prefix: str, idle: float, grace: float = PARTIAL_GRACE) -> bool:
    """Whether temp work named `<prefix><pid>-...`, untouched for `idle` seconds, is stale:
    its writer is not running on this host and it was idle for `grace` seconds, or it was
    idle for a day whoever wrote it (pids are reused)."""
    if idle > PARTIAL_MAX_AGE:
        return True
    pid = _writer_pid(name, prefix)
    return pid is not None and idle > grace and not _running(pid)


def _writer_pid(name: str, prefix: str) -> Optional[int]:
    """The pid in a `<prefix><pid>-*` name, or None when there is no possible pid there
    (anyone can drop a file here: such a name is left until it is a day old)."""
    if not name.startswith(prefix):
        return None
    head = name[len(prefix):].split("-", 1)[0]
    if not (head.isascii() and head.isdigit()) or len(head) > len(str(_PID_MAX)):
        return None
    pid = int(head)
    return pid if 0 < pid <= _PID_MAX else None


def _running(pid: int) -> bool:
    if pid <= 0:  # 0 and negatives address process groups: never ask about those
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to another user
        return True
    return True
