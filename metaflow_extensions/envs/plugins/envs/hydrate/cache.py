"""The local package cache: `<cache>/pkgs/<kind>/<sha256>/<filename>`, content-addressed.

An entry only ever appears by atomic rename after its sha256 was checked, so a file that
exists is complete; an interrupted download leaves only a `.partial-*` file nobody reads.
"""
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from .. import settings
from ..errors import HydrateError
from ..lock import LockedPackage, is_safe_filename

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def safe_filename(filename: str) -> str:
    """Package filenames come from remote metadata: never let one leave its folder."""
    if not is_safe_filename(filename):
        raise HydrateError("Refusing unsafe package filename %r." % filename)
    return filename


class PackageCache:
    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root else settings.cache_dir("pkgs")

    def path(self, kind: str, sha256: str, filename: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise HydrateError("Invalid sha256 %r for %s." % (sha256, filename))
        return self.root / kind / sha256 / safe_filename(filename)

    def path_for(self, pkg: LockedPackage) -> Path:
        return self.path(pkg.kind, pkg.sha256, pkg.filename)

    def has(self, pkg: LockedPackage) -> bool:
        """Present and of the size the lock says (a truncated entry counts as missing, so it
        is fetched again; a same-size corruption is caught by `discard_if_corrupt`)."""
        try:
            size = self.path_for(pkg).stat().st_size
        except FileNotFoundError:
            return False
        return pkg.size is None or size == pkg.size

    def discard_if_corrupt(self, pkg: LockedPackage) -> bool:
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
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".partial-")
            os.close(fd)
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        return dest

    def partial_path(self, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".partial-")
        os.close(fd)
        return Path(tmp)
