"""Downloading packages: parallel, verified against sha256, retried, never half-written."""
import hashlib
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urlsplit

from .. import settings
from ..auth import Credentials, strip_credentials
from ..errors import HydrateError
from .cache import PackageCache, partial_file

if TYPE_CHECKING:
    from ..lock import LockedPackage

_CHUNK = 1 << 20
_RETRIES = 4
_TIMEOUT = 60
_PROBE_TIMEOUT = 10  # a question asked only to explain a failure


def local_path(url: str) -> Optional[Path]:
    """The file a `file:` URL or a bare absolute path names; None for other URLs."""
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    if url.startswith("/"):
        return Path(url)
    return None


def configured_local_sources(extra: Sequence[str] = ()) -> List[Path]:
    """Local directories packages may be read from: the Conda channels configured on this
    machine that are paths or `file:` URLs, plus `extra` (the sources of a request being
    resolved right now). A lock names URLs, but a lock may come from anyone: it must not
    make us read an arbitrary local file."""
    urls = settings.channel_urls(settings.default_channels()) + list(extra)
    roots = [local_path(url) for url in urls]
    return [Path(os.path.realpath(root)) for root in roots if root is not None]


def _check_local(url: str, path: Path, local_sources: Sequence[Path]) -> None:
    real = Path(os.path.realpath(path))
    if not any(real == root or root in real.parents for root in local_sources):
        raise HydrateError(
            "Refusing to read %s: a package may come from a local file only inside a local channel or "
            "index configured on this machine (METAFLOW_CONDA_CHANNELS), not from wherever a lock points."
            % strip_credentials(url)
        )


def fetch_url(
    url: str,
    dest: Path,
    credentials: Credentials,
    expected_sha256: Optional[str] = None,
    local_sources: Optional[Sequence[Path]] = None,
) -> Path:
    """Download `url` to `dest` atomically; verify the sha256 when one is expected. A local
    file is read only inside `local_sources` (default: `configured_local_sources()`)."""
    path = local_path(url)
    if path is not None:
        _check_local(url, path, configured_local_sources() if local_sources is None else local_sources)
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
    """Copy `url` (a local file or an HTTP download) to `tmp`; returns its sha256."""
    source = local_path(url)
    opened = open(source, "rb") if source is not None else _OPENER.open(_Download(url, credentials),
                                                                         timeout=_TIMEOUT)
    digest = hashlib.sha256()
    with opened as src, open(tmp, "wb") as out:
        for block in iter(lambda: src.read(_CHUNK), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def refusal_status(url: str, credentials: Credentials) -> Optional[int]:
    """401 or 403 when the HTTP(S) `url` refuses what we would send it (credentials missing
    or wrong), else None: asked when a resolution failed, to say why an index had nothing."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    try:
        _OPENER.open(_Download(url, credentials), timeout=_PROBE_TIMEOUT).close()
    except urllib.error.HTTPError as err:
        return err.code if err.code in (401, 403) else None
    except (OSError, ValueError):
        return None
    return None


class _Download(urllib.request.Request):
    """A GET carrying the credentials of its URL's origin (in a header, never in the URL),
    and the means to find those of any origin it is redirected to."""

    def __init__(self, url: str, credentials: Credentials) -> None:
        super().__init__(strip_credentials(url), headers=credentials.headers_for(url))
        self.credentials = credentials


class _OriginBoundRedirects(urllib.request.HTTPRedirectHandler):
    """urllib copies every header to a redirect's target, so a channel or index redirecting
    to a CDN would hand it our password: on a change of origin, the target gets only the
    credentials configured for it, if any."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None or not isinstance(req, _Download):
            return new
        follow = _Download(new.full_url, req.credentials)
        if _origin(new.full_url) == _origin(req.full_url):
            follow.headers = dict(new.headers)  # same origin: what was sent stays valid
        return follow


def _origin(url: str) -> Optional[Tuple[str, str, Optional[int]]]:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a malformed port: an origin matching nothing
        return None


_OPENER = urllib.request.build_opener(_OriginBoundRedirects)


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def fetch_packages(
    packages: Iterable["LockedPackage"],
    cache: PackageCache,
    credentials: Credentials,
    workers: int = 8,
    local_sources: Optional[Sequence[Path]] = None,
) -> List[Path]:
    """Make every package present in the cache (downloading what is missing, in parallel);
    returns the cache paths in input order. Local files only from `local_sources`."""
    packages = list(packages)
    if local_sources is None:
        local_sources = configured_local_sources()

    def one(pkg: "LockedPackage") -> Path:
        dest = cache.path_for(pkg)
        if cache.has(pkg):
            return dest
        if pkg.built_from:
            raise HydrateError(
                "The wheel %s (built from %s) is not in the local cache: re-resolve the "
                "environment on this machine." % (pkg.filename, pkg.built_from)
            )
        return fetch_url(pkg.url, dest, credentials, expected_sha256=pkg.sha256, local_sources=local_sources)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, packages))

