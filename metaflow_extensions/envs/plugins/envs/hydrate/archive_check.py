"""A Conda archive may only place files inside the prefix it is linked into.

rattler links what an archive's `info/paths.json` lists and extracts every tar member into
its package cache, keeping symlinks as they are. So every paths.json entry, every member
name and every link target must stay below the package root: no absolute path, no `..`
climbing out, no symlink to `/etc` through which a later file (or a wheel) would be written.
Checking means streaming the whole archive, so an archive that passed is remembered by its
sha256, with the size and modification time the file had then. Whenever those differ (a file
rewritten in the cache), its sha256 is checked again here, before rattler starts: a damaged
archive must fail before linking begins, not midway (rattler would leave the extraction of
the other packages running).
"""
import os
import posixpath
from pathlib import Path

from .. import settings
from ..errors import HydrateError
from ..layout import CACHE_CHECKED_ARCHIVES
from ..lock import LockedPackage
from ..plumbing.cache import sha256_of
from ..plumbing.rattler import run_rattler


def check_conda_archive(pkg: LockedPackage, archive: Path) -> None:
    """Raise HydrateError if `archive` is not the package the lock names or would write
    outside the prefix; a stat once it passed."""
    passed = settings.cache_dir(CACHE_CHECKED_ARCHIVES) / pkg.sha256
    stat = os.stat(archive)
    stamp = "%d %d" % (stat.st_size, stat.st_mtime_ns)
    try:
        if passed.read_text() == stamp:
            return
    except OSError:
        pass
    if sha256_of(archive) != pkg.sha256:
        raise HydrateError("Conda package %s in the cache (%s) is damaged: its sha256 differs from the lock's."
                           % (pkg.filename, archive))
    problem = run_rattler(_find_escape(archive))
    if problem:
        raise HydrateError("Refusing Conda package %s: %s outside the environment." % (pkg.filename, problem))
    passed.parent.mkdir(parents=True, exist_ok=True)
    passed.write_text(stamp)


def escapes(path: str, link_target: str = "") -> bool:
    """Whether `path` (a member of the package), or the link at `path` pointing to
    `link_target`, reaches outside the package root."""
    if not path or posixpath.isabs(path) or posixpath.normpath(path).startswith(".."):
        return True
    if not link_target:
        return False
    if posixpath.isabs(link_target):
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), link_target))
    return resolved == ".." or resolved.startswith("../")


async def _find_escape(archive: Path) -> str:
    from rattler.package_streaming import PackageArchive

    try:
        package = await PackageArchive.from_path(archive)
        for entry in (await package.paths_json()).paths:
            if escapes(str(entry.relative_path)):
                return "it would write %s" % entry.relative_path
        for section in ("info", "pkg"):
            async for member in package.stream(section):
                target = member.link_target or ""
                # A hard link names another member (from the root); a symlink, a path from its folder.
                bad = escapes(member.name, target if member.is_symlink else "") or (
                    member.is_hardlink and escapes(target))
                if bad:
                    return "its member %s%s points" % (member.name, " -> " + target if target else "")
    except Exception as err:  # a damaged archive: rattler's parser raises many kinds
        raise HydrateError("Conda package %s is not a valid archive: %s" % (archive.name, err)) from None
    return ""
