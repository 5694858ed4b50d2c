"""Verification (`resolve --verify`, METAFLOW_CONDA_VERIFY): an environment is checked to
import before it is recorded, on the machine that resolves it, not in a remote task later.

The environment is hydrated from the package cache into a scratch prefix (made by us, under
the cache, removed after) and each requested top-level package, Conda and PyPI, is imported
by the prefix's own Python in one process (probe.py). A package that does not import fails
the resolution with the import error and the versions involved: the package's own and those
of its direct dependencies in the environment, where version conflicts (pandas built against
numpy 1 meeting numpy 2) come from. An environment for another platform than this machine's
is not verified, and the report says so.

A module counts as verified only when the probe reported its result and the probe reported
that it finished: an import that ends the process (even with status 0) fails every module
left without a result, naming them.

A success is remembered in the cache (`verified/<arch>/<full_id>`): a flow reusing a verified
environment does not hydrate it again. A forged file there only skips a check.

The scratch directory (`<cache>/scratch/verify-<pid>-<random>`, marked as ours before
anything goes in) is removed when verification ends, also on SIGTERM or SIGINT; one left by
a process killed outright is removed by `gc` once that process is gone (`stale_scratch`).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from packaging.utils import canonicalize_name

from .. import settings
from ..auth import Credentials
from ..errors import ResolveError
from ..layout import CACHE_SCRATCH, CACHE_VERIFIED
from ..hydrate.install import create_prefix
from ..hydrate.plan import PackageStore
from ..hydrate.prefix import claim_dir, owns, python_in, remove_owned
from ..ids import CONDA_PLATFORMS, is_hex_id
from ..kinds import PackageKind
from ..lock import ResolvedEnvironment
from ..plumbing.cache import PackageCache, is_stale_work
from ..plumbing.signals import check_stopped, child
from ..resolve.platforms import host_platform

PROBE = Path(__file__).with_name("probe.py")
IMPORT_TIMEOUT = 600  # seconds for all imports: an import that hangs must not hang the resolution
_RESULTS = "imports.jsonl"
SCRATCH_PREFIX = "verify-"  # then `<pid>-`: gc tells a dead process's scratch from a running one's
# A scratch directory is idle for as long as an import runs: only one idle for longer than
# every import may take is another host's left-over (the cache may be shared).
_SCRATCH_GRACE = IMPORT_TIMEOUT + 600.0


@dataclass(frozen=True)
class Verification:
    """What verifying one environment found (a failure raises ResolveError instead)."""

    env: ResolvedEnvironment
    imported: Tuple[str, ...] = ()  # modules imported
    skipped: Tuple[str, ...] = ()  # requested packages without an importable module
    not_verified: str = ""  # why nothing was checked
    earlier: bool = False  # verified by an earlier run on this machine

    def warnings(self) -> List[str]:
        """Never a silent pass: an environment that was not checked says so."""
        if self.not_verified:
            return ["%s not verified: %s." % (_describe(self.env), self.not_verified)]
        if not self.imported and not self.earlier:
            return ["%s: nothing was verified, as the request names no package with a module to import."
                    % _describe(self.env)]
        return []

    def notes(self) -> List[str]:
        if self.not_verified:
            return []
        if self.earlier:
            return ["%s was verified earlier on this machine." % _describe(self.env)]
        imports = "%s imports" if len(self.imported) == 1 else "%s import"
        out = ["%s verified: %s." % (_describe(self.env), imports.replace("%s", ", ".join(self.imported)))] \
            if self.imported else []
        out += ["%s has no importable module (a tool or data only): not imported." % p for p in self.skipped]
        return out


def verify_environment(env: ResolvedEnvironment, credentials: Credentials, cache: PackageCache,
                       store: Optional[PackageStore] = None) -> Verification:
    """Hydrate `env` into a scratch prefix (packages from `cache`, else `store` or their
    origin) and import what it was asked for; ResolveError naming each module that does not
    import."""
    host = host_platform()
    if env.arch != host:
        return Verification(env, not_verified="it is for %s and this machine is %s, so it cannot run here"
                                              % (env.arch, host))
    done = _done_marker(env)
    if done is not None and done.is_file():
        return Verification(env, earlier=True)
    requested, unnamed = _requested(env)
    with _scratch() as root:
        prefix = create_prefix(env, root / "env", credentials, cache, store=store)
        check_stopped()
        python = python_in(prefix)
        if not python.exists():
            return Verification(env, not_verified="it has no Python interpreter")
        events = _probe(python, requested, root / _RESULTS)
    result = _judge(env, events, unnamed)
    if done is not None and result.imported:  # nothing imported proves nothing for later runs
        done.parent.mkdir(parents=True, exist_ok=True)
        done.touch()
    return result


def _describe(env: ResolvedEnvironment) -> str:
    return "The %s environment %s" % (env.arch, env.full_id[:12])


def _done_marker(env: ResolvedEnvironment) -> Optional[Path]:
    # Both ids make the path: a lock read back from a cache is untrusted.
    if not (is_hex_id(env.full_id) and env.arch in CONDA_PLATFORMS):
        return None
    return settings.cache_root() / CACHE_VERIFIED / env.arch / env.full_id


def _requested(env: ResolvedEnvironment) -> Tuple[Dict[str, List[str]], List[str]]:
    """The requested packages the lock holds, by kind ("conda", "pypi"), and the requested
    PyPI requirements that name no project (a bare URL or path), which cannot be looked up.
    A lock brought by the user asks for its direct dependencies (LockedPypi.requested)."""
    locked = {(p.kind, canonicalize_name(p.name)) for p in env.packages}
    conda = [d.name for d in env.spec.conda_deps
             if d.name != "python" and (PackageKind.CONDA, canonicalize_name(d.name)) in locked]
    pypi = [d.name for d in env.spec.pypi_deps if d.name]
    if env.spec.pypi_locked is not None:
        asked = {canonicalize_name(name) for name in pypi}
        pypi += [name for name in env.spec.pypi_locked.requested
                 if (PackageKind.PYPI, name) in locked and name not in asked]
    unnamed = [d.requirement for d in env.spec.pypi_deps if not d.name]
    return {"conda": conda, "pypi": pypi}, unnamed


@contextmanager
def _scratch() -> Iterator[Path]:
    """A new directory of ours under the cache (hard links from the package cache work
    there), named with this process's pid and marked as ours before anything goes in;
    removed after through `remove_owned`, which proves it is ours (also when a signal stops
    the verification: see plumbing/signals.py)."""
    root = Path(tempfile.mkdtemp(prefix="%s%d-" % (SCRATCH_PREFIX, os.getpid()),
                                 dir=str(settings.cache_dir(CACHE_SCRATCH))))
    try:
        claim_dir(root)
        yield root
    finally:
        if owns(root):
            remove_owned(root)
        else:  # stopped before its marker was written: still empty
            root.rmdir()


def stale_scratch() -> List[Path]:
    """Scratch directories of verifications whose process is gone (killed outright), for gc;
    only ours (named by us and carrying our marker) and not those of running processes."""
    parent = settings.cache_root() / CACHE_SCRATCH
    try:
        entries = [Path(e.path) for e in os.scandir(parent) if e.name.startswith(SCRATCH_PREFIX)]
    except OSError:
        return []
    now = time.time()
    return [path for path in sorted(entries)
            if owns(path) and is_stale_work(path.name, SCRATCH_PREFIX, now - _newest_change(path), _SCRATCH_GRACE)]


def _newest_change(root: Path) -> float:
    stamps = [0.0]
    for path in (root, root / "env", root / _RESULTS):
        try:
            stamps.append(os.lstat(path).st_mtime)
        except OSError:
            pass
    return max(stamps)


def _probe(python: Path, requested: Dict[str, List[str]], results: Path) -> List[dict]:
    """Run probe.py in the prefix's Python (isolated: neither this process's PYTHONPATH
    nor the working directory can supply a module); its events, in order, and an error
    event for each requested package or module left without a result when the process
    did not finish (whatever its exit status: `os._exit(0)` in an import is no success)."""
    with subprocess.Popen([str(python), "-I", str(PROBE), str(results)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc, child(proc):
        try:
            _, stderr = proc.communicate(json.dumps(requested), timeout=IMPORT_TIMEOUT)
            status: Optional[int] = proc.returncode
            why = "ended the Python process (exit status %s) %s" % (proc.returncode, _last_line(stderr))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            status, why = None, "took more than %ds" % IMPORT_TIMEOUT
    check_stopped()  # killed by a stopping signal: no verdict
    events = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    if any(e["event"] == "done" for e in events):
        if status == 0:
            return events
        return events + [{"event": "error", "package": "", "module": "", "error": why.strip()}]
    return events + _unfinished(requested, events, why.strip())


def _unfinished(requested: Dict[str, List[str]], events: List[dict], why: str) -> List[dict]:
    """Errors for what the probe gave no result for: the import it was in when it stopped
    gets `why`, every other module and package is named as not checked."""
    finished = {(e["package"], e["module"]) for e in events if e["event"] in ("ok", "error")}
    started = [(e["package"], e["module"]) for e in events if e["event"] == "start"
               and (e["package"], e["module"]) not in finished]
    culprit = started[0] if started else None
    listed = [e for e in events if e["event"] == "package"]
    not_checked = "not checked: the import check stopped before it (it %s)" % why
    out = [{"event": "error", "package": e["package"], "module": module,
            "error": why if (e["package"], module) == culprit else not_checked}
           for e in listed for module in e["modules"] if (e["package"], module) not in finished]
    seen = {e["package"] for e in listed}
    out += [{"event": "error", "package": name, "module": "", "error": "%s before it was looked at" % why}
            for names in requested.values() for name in names if name not in seen]
    return out or [{"event": "error", "package": "", "module": "", "error": why}]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _judge(env: ResolvedEnvironment, events: List[dict], unnamed: List[str]) -> Verification:
    packages = {e["package"]: e for e in events if e["event"] == "package"}
    errors = [e for e in events if e["event"] == "error"]
    if errors:
        raise ResolveError(_failure(env, errors, packages))
    skipped = [name for name, e in packages.items() if not e["modules"]]
    skipped += ["%s (names no project)" % r for r in unnamed]
    return Verification(env, imported=tuple(e["module"] for e in events if e["event"] == "ok"),
                        skipped=tuple(skipped))


def _failure(env: ResolvedEnvironment, errors: List[dict], packages: Dict[str, dict]) -> str:
    versions = {canonicalize_name(p.name): p.version for p in env.packages}

    def with_version(name: str) -> str:
        version = versions.get(canonicalize_name(name))
        return "%s %s" % (name, version) if version else name

    lines = ["%s does not import:" % _describe(env)]
    for error in errors:
        package = error["package"]
        deps = [with_version(d) for d in packages.get(package, {}).get("requires", ())
                if canonicalize_name(d) in versions and canonicalize_name(d) != "python"]
        if error["module"]:
            lines.append("- %s: import %s failed: %s%s;" % (
                with_version(package), error["module"], error["error"],
                "; its dependencies here: %s" % ", ".join(deps) if deps else ""))
        elif package:
            lines.append("- %s: the import check %s;" % (with_version(package), error["error"]))
        else:
            lines.append("- the import check %s;" % error["error"])
    return "\n".join(lines) + (
        "\nPin versions that work together in the request (e.g. an older version of a dependency named "
        "above) and resolve again, or resolve without verification to keep this environment as it is.")
