"""Building wheels from sources (sdist, git, local directory) with `uv build`.

The built wheel is stored in the local package cache under its sha256, the same place a
downloaded wheel would be, so hydration finds it like any other package.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Dict, Tuple

from ..auth import Credentials, git_auth_env, strip_credentials
from ..errors import ResolveError
from ..hydrate.cache import PackageCache
from ..hydrate.fetch import fetch_url
from ..spec.model import EnvSpec
from .pypi import SourceToBuild, WheelBuilder, source_options
from .uv import run_uv


def make_builder(
    python: Callable[[], str], spec: EnvSpec, credentials: Credentials, cache: PackageCache
) -> WheelBuilder:
    """A WheelBuilder building with the interpreter `python()` returns (created lazily: most
    environments never need to build)."""

    def build(source: SourceToBuild) -> Path:
        with tempfile.TemporaryDirectory(prefix="mfenvs-build-") as tmp:
            work = Path(tmp)
            target = _materialize(source, work, credentials)
            out = work / "dist"
            args = ["build", "--wheel", "--out-dir", str(out), "--python", python(), str(target)]
            # Build dependencies (setuptools...) come from the request's own indexes.
            source_args, source_env = source_options(spec, credentials, work)
            run_uv(args + source_args, credentials, ResolveError, "Could not build a wheel for '%s' from %s"
                   % (source.name, credentials.redact(source.location)), env=source_env)
            wheels = list(out.glob("*.whl"))
            if len(wheels) != 1:
                raise ResolveError("Building '%s' gave %d wheels, expected one." % (source.name, len(wheels)))
            return cache.add_file(wheels[0], "pypi")

    return build


def _materialize(source: SourceToBuild, work: Path, credentials: Credentials) -> Path:
    """A local path uv can build from."""
    location = source.location
    if source.kind == "directory" or location.startswith("/") or location.startswith("file://"):
        path = Path(location[len("file://"):] if location.startswith("file://") else location)
        if not path.exists():
            raise ResolveError("Local requirement '%s' not found at %s." % (source.name, path))
        return path
    if source.kind == "vcs":
        return _git_checkout(source, work, credentials)
    filename = location.rsplit("/", 1)[-1].split("#", 1)[0]
    dest = work / filename
    fetch_url(location, dest, credentials, expected_sha256=source.sha256)
    return dest


def _git_checkout(source: SourceToBuild, work: Path, credentials: Credentials) -> Path:
    git = shutil.which("git")
    if not git:
        raise ResolveError("'%s' is a git requirement but git is not installed." % source.name)
    url = source.location[len("git+"):] if source.location.startswith("git+") else source.location
    head, _, last = url.rpartition("/")
    ref = ""
    if "@" in last:  # `repo.git@v1.0`: the ref rides on the last path segment
        last, ref = last.split("@", 1)
        url = "%s/%s" % (head, last)
    dest = work / "checkout"
    clone_url, env = _git_auth(url, credentials)
    for cmd in (
        [git, "clone", "--quiet", clone_url, str(dest)],
        [git, "-C", str(dest), "checkout", "--quiet", source.commit or ref or "HEAD"],
    ):
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, env=env)
        if proc.returncode != 0:
            raise ResolveError("Could not fetch git requirement '%s' from %s:\n%s" % (
                source.name, credentials.redact(url), credentials.redact(proc.stderr.strip())))
    return dest


def _git_auth(url: str, credentials: Credentials) -> Tuple[str, Dict[str, str]]:
    """The URL to clone and git's environment: over HTTP(S), credentials go in a header set
    through the environment, never in the URL on git's command line. Other schemes (ssh's
    `git@host`) are left as written."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", **git_auth_env([url], credentials))
    return (strip_credentials(url) if url.lower().startswith(("http://", "https://")) else url), env
