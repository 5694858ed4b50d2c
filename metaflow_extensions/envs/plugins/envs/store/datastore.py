"""The environment store on a Metaflow datastore (local, S3, Azure, GS — one code path).

Layout under the store root:
    <packages>/conda/<sha256>/<filename>        content-addressed, written once
    <packages>/pypi/<sha256>/<filename>
    <envs>/<arch>/<req_id>/<full_id>/env.json   the lock, written after all its packages
    aliases/<generic|pathspec>/<alias>          -> EnvID (small JSON)
A lock's presence therefore proves its packages are present: publishing an environment whose
lock exists costs one request.
"""
import io
import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set

from .. import layout, settings
from .roots import default_root, storage_class
from ..errors import CorruptLock, EnvError, SpecError, StoreError
from ..plumbing.cache import PackageCache, safe_filename, sha256_of
from ..ids import EnvID, is_hex_id
from ..lock import LockedPackage, ResolvedEnvironment


class EnvStore:
    """Packages, locks and aliases on one datastore root."""

    def __init__(self, datastore_type: Optional[str] = None, root: Optional[str] = None) -> None:
        self.datastore_type = datastore_type or settings.get("DEFAULT_DATASTORE") or "local"
        self.root = root or default_root(self.datastore_type)
        self.storage = storage_class(self.datastore_type)(self.root)
        self.packages_dir = settings.value("CONDA_PACKAGES_DIRNAME")
        self.envs_dir = settings.value("CONDA_ENVS_DIRNAME")

    def __repr__(self) -> str:
        return "EnvStore(%s, %s)" % (self.datastore_type, self.root)

    # ---- keys ---------------------------------------------------------------------------
    def package_key(self, pkg: LockedPackage) -> str:
        return layout.package_key(self.packages_dir, pkg.kind, pkg.sha256, safe_filename(pkg.filename))

    def env_key(self, env_id: EnvID) -> str:
        return layout.env_key(self.envs_dir, env_id.arch, env_id.req_id, env_id.full_id)

    # ---- packages -----------------------------------------------------------------------
    def present_packages(self, packages: Sequence[LockedPackage]) -> Set[str]:
        """Keys of `packages` already stored: one listing per package kind, not one request
        per package."""
        kinds = sorted({p.kind for p in packages})
        dirs = [layout.package_kind_dir(self.packages_dir, k) for k in kinds]
        listed = self._call("list", dirs, self.storage.list_content, dirs)
        shas = {entry.path.rstrip("/").rsplit("/", 1)[-1] for entry in listed}
        candidates = [self.package_key(p) for p in packages if p.sha256 in shas]
        if not candidates or self.datastore_type != "local":
            # Object stores write an object whole or not at all, so a checksum folder exists
            # only around a complete package: the listing is enough.
            return set(candidates)
        # A local folder can outlive an interrupted write (its temp file): check the files.
        exists = self._call("check", candidates, self.storage.is_file, candidates)
        return {key for key, ok in zip(candidates, exists) if ok}

    def upload_packages(self, packages: Sequence[LockedPackage], cache: PackageCache) -> None:
        """Upload packages from the local cache, each verified first: a corrupted cache entry
        must never reach the store."""
        paths = {self.package_key(p): cache.path_for(p) for p in packages}
        for pkg in packages:
            if sha256_of(cache.path_for(pkg)) != pkg.sha256:
                raise StoreError("Local cache entry %s is corrupted (sha256 mismatch): delete it "
                                 "and retry." % cache.path_for(pkg))

        def upload() -> None:
            with ExitStack() as stack:  # fresh handles per attempt
                items = [(key, stack.enter_context(open(path, "rb"))) for key, path in paths.items()]
                # len_hint above 10 makes Metaflow upload in parallel even for a few packages.
                self.storage.save_bytes(iter(items), overwrite=False, len_hint=max(11, len(items)))

        if paths:
            self._call("upload", list(paths), upload)

    def download_packages(self, packages: Sequence[LockedPackage], cache: PackageCache) -> List[LockedPackage]:
        """Bring packages from the store into the local cache, verifying each sha256.
        Returns those that could not be had (absent or corrupted in the store)."""
        by_key = {self.package_key(p): p for p in packages}
        got: Set[str] = set()

        def keep(key: str, local_path: Optional[str]) -> None:
            pkg = by_key[key]
            if local_path is None:
                return
            dest = cache.path_for(pkg)
            tmp = cache.partial_path(dest)
            shutil.copyfile(local_path, tmp)
            if sha256_of(tmp) != pkg.sha256:
                os.unlink(tmp)  # corrupted in the store: never becomes a cache entry
                return
            os.replace(tmp, dest)
            got.add(key)

        self._load(list(by_key), keep)
        return [pkg for key, pkg in by_key.items() if key not in got]

    # ---- locks --------------------------------------------------------------------------
    def has_env(self, env_id: EnvID) -> bool:
        key = self.env_key(env_id)
        return bool(self._call("check", [key], self.storage.is_file, [key])[0])

    def save_env(self, env: ResolvedEnvironment) -> None:
        self.write_text(self.env_key(EnvID.of(env)), env.to_json())

    def load_env(self, env_id: EnvID) -> Optional[ResolvedEnvironment]:
        key = self.env_key(env_id)
        text = self.read_text(key)
        if text is None:
            return None
        try:
            return ResolvedEnvironment.from_json(text, expected=env_id)
        except SpecError as err:
            raise CorruptLock("The lock %s in the %s datastore at %s cannot be used: %s"
                             % (key, self.datastore_type, self.root, err)) from None

    def full_ids(self, arch: str, req_id: str) -> List[str]:
        prefix = "/".join((self.envs_dir, arch, req_id))
        listed = self._call("list", [prefix], self.storage.list_content, [prefix])
        names = (entry.path.rstrip("/").rsplit("/", 1)[-1] for entry in listed if not entry.is_file)
        return sorted(name for name in names if is_hex_id(name))  # anything else is not a lock of ours

    def file_names(self, prefix: str) -> List[str]:
        """The names of the files directly under `prefix` (one listing)."""
        return self._names(prefix, files=True)

    def folder_names(self, prefix: str) -> List[str]:
        """The names of the folders directly under `prefix` (one listing)."""
        return self._names(prefix, files=False)

    def _names(self, prefix: str, files: bool) -> List[str]:
        listed = self._call("list", [prefix], self.storage.list_content, [prefix])
        return sorted(entry.path.rstrip("/").rsplit("/", 1)[-1] for entry in listed if bool(entry.is_file) == files)

    def load_objects(self, keys: List[str], consume) -> None:
        """`consume(key, local_path or None)` for each of `keys`, read in parallel with retries."""
        self._load(keys, consume)

    # ---- small objects ------------------------------------------------------------------
    def read_text(self, key: str) -> Optional[str]:
        found: Dict[str, str] = {}

        def keep(_key: str, local_path: Optional[str]) -> None:
            if local_path is not None:
                found["text"] = Path(local_path).read_text(encoding="utf-8")

        self._load([key], keep)
        return found.get("text")

    def write_text(self, key: str, text: str, overwrite: bool = True) -> None:
        data = text.encode("utf-8")
        # A fresh iterator per attempt: a retried upload must not find it consumed.
        self._call("upload", [key], lambda: self.storage.save_bytes(
            iter([(key, io.BytesIO(data))]), overwrite=overwrite))

    def _load(self, keys: List[str], consume) -> None:
        """load_bytes one key per thread, each consumed inside our retry loop (Metaflow's S3
        reads lazily). Threads, not Metaflow's batch path: that starts a process per file,
        which on a small node costs more than the transfer (benchmarks/README.md)."""
        from concurrent.futures import ThreadPoolExecutor

        def one(key: str) -> None:
            def run() -> None:
                with self.storage.load_bytes([key]) as loaded:
                    for got_key, local_path, _meta in loaded:
                        consume(got_key, local_path)
            self._call("download", [key], run)

        if keys:
            with ThreadPoolExecutor(max_workers=min(16, len(keys))) as pool:
                list(pool.map(one, keys))

    def _call(self, what: str, keys: Iterable[str], func, *args, **kwargs):
        """Our retry layer over the backend's own: faults that outlast it are retried with
        backoff, then end in one clear error."""
        import time

        attempts = settings.value("CONDA_STORE_RETRIES")
        for attempt in range(attempts):
            try:
                return func(*args, **kwargs)
            except EnvError:
                raise
            except Exception as err:  # backends raise their own types; all are transient here
                if attempt == attempts - 1:
                    keys = list(keys)
                    subject = keys[0] if len(keys) == 1 else "%d objects" % len(keys)
                    raise StoreError("Could not %s %s in the %s datastore at %s after %d attempts: %s"
                                     % (what, subject, self.datastore_type, self.root, attempts,
                                        _short(err))) from None
                time.sleep(min(1.0 * 2 ** attempt, 8.0))
        raise AssertionError("unreachable")


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    line = text[-1] if text else type(err).__name__
    cause = err.__context__
    headline = getattr(err, "headline", None)  # a Metaflow error wrapping the SDK's
    if headline and cause is not None:
        # Metaflow keeps only the SDK's last line, for Azure credentials a link to a guide:
        # the SDK's first line and the credential that was actually tried say what failed.
        lines = [ln.strip() for ln in str(cause).strip().splitlines()]
        tried = [ln for ln in lines[1:] if "Credential:" in ln and "unavailable" not in ln]
        line = "%s: %s" % (headline, " ".join(lines[:1] + tried[:1]) or line)
    return line[:400]
