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
from ..lock import LockedPackage

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def safe_filename(filename: str) -> str:
    """Package filenames come from remote metadata: never let one leave its folder."""
    if not filename or filename in (".", "..") or "/" in filename or "\\" in filename or "\0" in filename:
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
        return self.path_for(pkg).is_file()

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
