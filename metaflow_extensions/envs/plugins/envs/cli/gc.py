"""`metaflow environment gc`: remove local prefixes and cached packages no one used recently.

The rule. A prefix (`<cache>/envs/<arch>/<req>/<full>` or `<cache>/envs/named/NAME`) was
last used at the latest access or modification time of the prefix directory, its marker
file (read whenever an environment is reused), its `bin/` and its `site-packages/`
directories (read by every Python start); it is removed when that is older than
`--older-than` days. A cached package archive (`<cache>/pkgs/<kind>/<sha256>/<file>`) was
last used at its latest access or modification time; it is removed when that is older
than the limit AND no kept prefix's environment lists it. A prefix whose lock is held (a
`create` or a flow is building it right now) is never removed, nor are its packages; the
locks of every other prefix are held while gc runs, so no create can start on them.
Locks and the local index are never removed (they are small and they are the record).
On file systems mounted `noatime`, only modification times count.

Only what metaflow-envs made is removed: a directory under envs/ without its ownership
marker (see hydrate/prefix.py) is reported as skipped, never deleted, however old. Stale
`.partial-*` temp files (see plumbing/cache.py) in the package cache, the index's directory
and the locks are removed whatever their age; those of running processes never are. So are
the scratch directories of verifications (`<cache>/scratch/verify-<pid>-*`, see verify/)
whose process was killed before it could remove them.
"""
import os
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Set, Tuple

from filelock import FileLock, Timeout

from ..environments import Environments
from ..errors import CorruptLock, EnvError
from ..plumbing.cache import stale_partials
from ..hydrate.prefix import MARKER, NAMED_DIR, OWNER_MARKER, envs_root, owns, read_marker, remove_owned
from ..ids import EnvID
from ..layout import CACHE_LOCKS
from .args import check_days

DAY = 86400.0


@dataclass
class Item:
    path: Path
    last_used: float
    size: int


@dataclass
class GcReport:
    dry_run: bool
    cutoff: float
    prefixes: List[Item] = field(default_factory=list)  # removed (or would be)
    packages: List[Item] = field(default_factory=list)
    in_use: List[Path] = field(default_factory=list)  # prefixes locked by a running create
    skipped: List[Path] = field(default_factory=list)  # directories under envs/ we did not make
    partials: List[Item] = field(default_factory=list)  # stale temp files removed (or would be)
    builds: List[Item] = field(default_factory=list)  # wheels built from sources, and their record
    scratch: List[Item] = field(default_factory=list)  # verifications' scratch dirs left by dead processes
    kept_prefixes: int = 0
    kept_packages: int = 0

    @property
    def freed(self) -> int:
        return sum(i.size for i in self.prefixes + self.packages + self.partials + self.builds + self.scratch)


def _stamp(path: Path) -> float:
    try:
        st = os.stat(path)
    except OSError:
        return 0.0
    return max(st.st_atime, st.st_mtime)


def prefix_last_used(prefix: Path) -> float:
    stamps = [_stamp(prefix), _stamp(prefix / MARKER), _stamp(prefix / "bin")]
    lib = prefix / "lib"
    if lib.is_dir():
        stamps += [_stamp(site) for site in lib.glob("python*/site-packages")]
    return max(stamps)


def _size(path: Path) -> int:
    """What removing a file or tree frees: the sizes of files with no other hard link (a
    prefix's files are mostly hard links into rattler's cache). Directories are listed
    without updating their access times where the OS allows it (a dry run must not make a
    prefix look used)."""
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    if not os.path.isdir(path) or os.path.islink(path):
        return st.st_size
    try:
        return _tree_size(_open_dir(str(path)))
    except OSError:
        return 0


def _open_dir(name: str, dir_fd: Optional[int] = None) -> int:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        return os.open(name, flags | getattr(os, "O_NOATIME", 0), dir_fd=dir_fd)
    except PermissionError:  # O_NOATIME needs ownership
        return os.open(name, flags, dir_fd=dir_fd)


def _tree_size(fd: int) -> int:
    total = 0
    try:
        for entry in os.scandir(fd):
            try:
                if entry.is_dir(follow_symlinks=False):
                    total += _tree_size(_open_dir(entry.name, dir_fd=fd))
                else:
                    st = entry.stat(follow_symlinks=False)
                    if st.st_nlink <= 1:  # a file hard-linked elsewhere frees nothing
                        total += st.st_size
            except OSError:
                pass
    finally:
        os.close(fd)
    return total


def local_prefixes() -> Iterator[Tuple[Path, Optional[Tuple[str, str, str]]]]:
    """Every prefix under the envs dir (and every prefix being created: its lock file exists
    before its directory does), with (arch, req_id[:16], full_id[:16]) for an environment's
    own prefix, None for a named one."""
    root = envs_root()
    if not root.is_dir():
        return

    def children(directory: Path) -> List[Path]:
        names = {p.name[: -len(".lock")] if p.name.endswith(".lock") and not p.is_dir() else p.name
                 for p in directory.iterdir() if p.is_dir() or p.name.endswith(".lock")}
        return [directory / n for n in sorted(names)]

    for arch_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if arch_dir.name == NAMED_DIR:
            for named in children(arch_dir):
                yield named, None
            continue
        for req_dir in sorted(p for p in arch_dir.iterdir() if p.is_dir()):
            for prefix in children(req_dir):
                yield prefix, (arch_dir.name, req_dir.name, prefix.name)


class _EnvFinder:
    """Prefix -> EnvID through the local index (own prefixes by their path, named ones by
    the full_id in their marker)."""

    def __init__(self, envs: Environments) -> None:
        self.ids: List[EnvID] = [entry.env_id for entry in envs.index.known()]

    def find(self, prefix: Path, key: Optional[Tuple[str, str, str]]) -> Optional[EnvID]:
        if key is not None:
            arch, req, full = key
            found = [i for i in self.ids if i.arch == arch and i.req_id[:16] == req and i.full_id[:16] == full]
        else:
            full_id = read_marker(prefix / MARKER)
            found = [i for i in self.ids if i.full_id == full_id] if full_id else []
        return found[0] if found else None


def collect(envs: Environments, older_than_days: float, dry_run: bool, now: Optional[float] = None) -> GcReport:
    now = time.time() if now is None else now
    report = GcReport(dry_run=dry_run, cutoff=now - check_days(older_than_days) * DAY)
    finder = _EnvFinder(envs)
    keep_packages: Set[str] = set()
    keep_everything = False
    with ExitStack() as held:
        doomed: List[Tuple[Path, float]] = []
        for prefix, key in list(local_prefixes()):
            lock = FileLock(str(prefix) + ".lock", timeout=0)
            last_used = prefix_last_used(prefix)  # before anything reads the prefix
            try:
                held.enter_context(lock)
            except Timeout:
                report.in_use.append(prefix)
                last_used = now
            if prefix not in report.in_use and not owns(prefix):
                if prefix.is_dir() or prefix.is_symlink():
                    report.skipped.append(prefix)
                continue  # else a lock file left by an earlier create: nothing to remove
            if last_used >= report.cutoff:
                report.kept_prefixes += 1
                env_id = finder.find(prefix, key)
                env = _load(envs, env_id)
                if env is None:
                    keep_everything = keep_everything or prefix in report.in_use
                    continue
                for pkg in env.packages:
                    keep_packages.add(pkg.sha256)
                    keep_packages.update(alt.sha256 for alt in pkg.alternates)
            else:
                doomed.append((prefix, last_used))
        for prefix, last_used in doomed:
            report.prefixes.append(Item(prefix, last_used, _size(prefix)))
            if not dry_run:
                try:
                    remove_owned(prefix)
                except (OSError, EnvError):  # what could not be removed (or was swapped meanwhile) stays
                    pass
        if not keep_everything:
            _collect_packages(envs, report, keep_packages)
        _collect_partials(envs, report)
        _collect_builds(report)
        _collect_scratch(report)
    return report


def _folder_last_used(path: Path) -> float:
    """The latest use of a flat folder and its files, listed without touching its access
    time where the OS allows it (a dry run must not make it look used)."""
    stamps = [_stamp(path)]
    fd = _open_dir(str(path))
    try:
        for entry in os.scandir(fd):
            st = entry.stat(follow_symlinks=False)
            stamps.append(max(st.st_atime, st.st_mtime))
    finally:
        os.close(fd)
    return max(stamps)


def _collect_builds(report: GcReport) -> None:
    """Build cache entries not used within the limit (a later resolution builds again);
    the wheels that locks name stay in the package cache under the rules above."""
    from ..resolve.build import BuildCache

    for entry in BuildCache().entries():
        last_used = _folder_last_used(entry)
        if last_used >= report.cutoff:
            continue
        report.builds.append(Item(entry, last_used, _size(entry)))
        if not report.dry_run:
            shutil.rmtree(entry, ignore_errors=True)


def _collect_scratch(report: GcReport) -> None:
    """Verification scratch directories whose process is gone, whatever their age."""
    from ..verify import stale_scratch

    for path in stale_scratch():
        report.scratch.append(Item(path, _stamp(path), _size(path)))
        if not report.dry_run:
            try:
                remove_owned(path)
            except (OSError, EnvError):  # what could not be removed (or is no longer ours) stays
                pass


def _load(envs: Environments, env_id: Optional[EnvID]):
    if env_id is None:
        return None
    try:
        return envs.index.load(env_id)
    except CorruptLock:
        return None


def _collect_packages(envs: Environments, report: GcReport, keep: Set[str]) -> None:
    for entry in envs.cache.entries():
        if _stamp(entry.path) >= report.cutoff or entry.sha256 in keep:
            report.kept_packages += 1
            continue
        _remove_file(report, report.packages, entry.path)
    for sha_dir in envs.cache.entry_dirs():
        _collect_partials_in(report, sha_dir)
        if not report.dry_run:
            try:
                sha_dir.rmdir()  # only when now empty
            except OSError:
                pass


def _collect_partials(envs: Environments, report: GcReport) -> None:
    """Stale temp files beside the index and among the locks (the package cache's are
    collected with the packages)."""
    root = envs.index.root
    locks = root / CACHE_LOCKS
    for directory in [root] + (sorted(p for p in locks.rglob("*") if p.is_dir()) if locks.is_dir() else []):
        _collect_partials_in(report, directory)


def _collect_partials_in(report: GcReport, directory: Path) -> None:
    for path in stale_partials(directory):
        _remove_file(report, report.partials, path)


def _remove_file(report: GcReport, removed: List[Item], path: Path) -> None:
    removed.append(Item(path, _stamp(path), _size(path)))
    if not report.dry_run:
        try:
            path.unlink()
        except OSError:
            pass


def _mb(size: int) -> str:
    return "%.1f MB" % (size / 1e6)


def render(report: GcReport) -> str:
    verb = "Would remove" if report.dry_run else "Removed"
    lines = []
    for item in report.prefixes:
        lines.append("%s environment %s (last used %s, frees %s)" % (
            verb, item.path, time.strftime("%Y-%m-%d", time.localtime(item.last_used)), _mb(item.size)))
    for item in report.packages:
        lines.append("%s cached package %s (last used %s, frees %s)" % (
            verb, item.path.name, time.strftime("%Y-%m-%d", time.localtime(item.last_used)), _mb(item.size)))
    for item in report.builds:
        lines.append("%s cached build %s (last used %s, frees %s)" % (
            verb, item.path.name, time.strftime("%Y-%m-%d", time.localtime(item.last_used)), _mb(item.size)))
    for item in report.partials:
        lines.append("%s unfinished temp file %s (its writer stopped)" % (verb, item.path))
    for item in report.scratch:
        lines.append("%s verification scratch %s (its process stopped, frees %s)" % (verb, item.path, _mb(item.size)))
    for path in report.in_use:
        lines.append("Kept %s: in use by a running create" % path)
    for path in report.skipped:
        lines.append("Skipped %s: metaflow-envs did not create it (no %s file); remove it yourself if you no "
                     "longer need it" % (path, OWNER_MARKER))
    lines.append("%s %d environment%s and %d cached package%s (frees %s); kept %d environment%s and %d package%s." % (
        verb, len(report.prefixes), "" if len(report.prefixes) == 1 else "s",
        len(report.packages), "" if len(report.packages) == 1 else "s", _mb(report.freed),
        report.kept_prefixes, "" if report.kept_prefixes == 1 else "s",
        report.kept_packages, "" if report.kept_packages == 1 else "s"))
    return "\n".join(lines)
