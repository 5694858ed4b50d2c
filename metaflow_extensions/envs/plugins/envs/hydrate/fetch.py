"""Downloading packages: parallel, verified against sha256, retried, never half-written."""
import hashlib
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, List, Optional

from ..auth import Credentials, strip_credentials
from ..errors import HydrateError
from ..lock import LockedPackage
from .cache import PackageCache, partial_file

_CHUNK = 1 << 20
_RETRIES = 4
_TIMEOUT = 60


def fetch_url(
    url: str,
    dest: Path,
    credentials: Credentials,
    expected_sha256: Optional[str] = None,
) -> Path:
    """Download `url` to `dest` atomically; verify the sha256 when one is expected."""
    tmp = partial_file(dest.parent)
    shown = strip_credentials(url)
    for attempt in range(_RETRIES):
        try:
            digest = _download(url, tmp, credentials)
            break
        except urllib.error.HTTPError as err:
            _discard(tmp)
            if err.code in (401, 403):
                raise HydrateError(
                    "Access denied (HTTP %d) downloading %s: check the credentials for its host "
                    "(METAFLOW_CONDA_SRCS_AUTH_INFO, user:password@ in the source URL, or ~/.netrc)."
                    % (err.code, shown)
                ) from None
            if err.code < 500 or attempt == _RETRIES - 1:
                raise HydrateError("Could not download %s: HTTP %d %s." % (shown, err.code, err.reason)) from None
        except (urllib.error.URLError, OSError) as err:
            _discard(tmp)
            if attempt == _RETRIES - 1:
                reason = getattr(err, "reason", err)
                raise HydrateError("Could not download %s: %s." % (shown, credentials.redact(str(reason)))) from None
        time.sleep(min(0.5 * 2 ** attempt, 4.0))
    if expected_sha256 and digest != expected_sha256:
        _discard(tmp)
        raise HydrateError(
            "Checksum mismatch for %s: expected sha256 %s, got %s. The file at its source changed "
            "or is corrupted; re-resolve the environment if the source is trusted."
            % (shown, expected_sha256, digest)
        )
    os.replace(tmp, dest)
    return dest


def _download(url: str, tmp: Path, credentials: Credentials) -> str:
    digest = hashlib.sha256()
    if url.startswith("file://") or url.startswith("/"):
        source = url[len("file://"):] if url.startswith("file://") else url
        with open(source, "rb") as src, open(tmp, "wb") as out:
            for block in iter(lambda: src.read(_CHUNK), b""):
                digest.update(block)
                out.write(block)
        return digest.hexdigest()
    request = urllib.request.Request(strip_credentials(url), headers=credentials.headers_for(url))
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response, open(tmp, "wb") as out:
        for block in iter(lambda: response.read(_CHUNK), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def fetch_packages(
    packages: Iterable[LockedPackage],
    cache: PackageCache,
    credentials: Credentials,
    workers: int = 8,
) -> List[Path]:
    """Make every package present in the cache (downloading what is missing, in parallel);
    returns the cache paths in input order."""
    packages = list(packages)

    def one(pkg: LockedPackage) -> Path:
        dest = cache.path_for(pkg)
        if dest.is_file():
            return dest
        if pkg.built_from:
            raise HydrateError(
                "The wheel %s (built from %s) is not in the local cache: re-resolve the "
                "environment on this machine." % (pkg.filename, pkg.built_from)
            )
        return fetch_url(pkg.url, dest, credentials, expected_sha256=pkg.sha256)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, packages))

