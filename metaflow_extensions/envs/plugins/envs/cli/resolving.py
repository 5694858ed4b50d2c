"""`metaflow environment resolve`: resolve a request (or extend an environment) for several
architectures, then publish and alias the results."""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Sequence

from ..environments import Environments, merged_spec
from ..errors import SpecError
from ..ids import Alias
from ..lock import ResolvedEnvironment
from ..plumbing.notices import relayed_to
from ..plumbing.signals import stop_on_signals
from ..resolve.preferences import Preferences
from ..resolve.pypi import host_only_build_notes
from ..resolve.resolver import request_warnings
from ..spec import parse_file
from ..spec.model import CondaDep, EnvSpec, PypiDep
from ..verify import Verification
from .progress import Progress
from .refs import EnvRef, find


@dataclass(frozen=True)
class ResolveRequest:
    archs: Sequence[str]
    spec_file: Optional[str] = None
    spec_kind: Optional[str] = None
    python: Optional[str] = None  # a Conda version spec (see integration.decorator_rules.python_version_spec)
    using: Optional[EnvRef] = None
    aliases: Sequence[Alias] = ()
    force: bool = False
    dry_run: bool = False
    set_default: bool = True
    local_only: bool = False
    extras: Sequence[str] = ()  # of a lock file (uv.lock, pylock.toml)
    groups: Sequence[str] = ()
    use_uv_lock: bool = True  # a pyproject.toml with a uv.lock beside it: take the lock
    verify: bool = False  # import each requested package in a scratch prefix first (verify/)
    prefer: Optional[EnvRef] = None  # whose versions to keep; default: `using`
    upgrade_all: bool = False
    upgrade: Sequence[str] = ()  # package names whose versions may move

    conda_pkgs: Sequence[CondaDep] = ()  # --conda-pkg
    pypi_pkgs: Sequence[PypiDep] = ()  # --pypi-pkg
    from_env: Optional[EnvRef] = None  # --from / --from-pathspec: that environment's request, re-resolved
    metaflow_deps: bool = True  # add what Metaflow needs in a task (not with --skip-metaflow-deps)
    datastore: Optional[str] = None  # whose client Metaflow needs (boto3 for s3...)



def _uv_lock_beside(request: ResolveRequest) -> Optional[str]:
    """The uv.lock next to the request's pyproject.toml, when it is to be used."""
    if request.spec_kind != "pyproject" or not request.use_uv_lock or request.spec_file is None:
        return None
    lock = os.path.join(os.path.dirname(request.spec_file), "uv.lock")
    return lock if os.path.isfile(lock) else None


def read_request(request: ResolveRequest) -> EnvSpec:
    """What the file, --conda-pkg/--pypi-pkg (and --python) ask for."""
    asked = request.spec_file or request.conda_pkgs or request.pypi_pkgs or request.python
    if not (asked or request.using or request.from_env or request.metaflow_deps):
        raise SpecError("Nothing to resolve with --skip-metaflow-deps: give a requirements file (-r "
                        "requirements.txt, -f environment.yml, -p pyproject.toml, --uv-lock uv.lock or --pylock "
                        "pylock.toml), --conda-pkg/--pypi-pkg, --python, or --using/--from ENV.")
    lock = _uv_lock_beside(request)
    if lock is not None:  # the project's Python bound, and its PyPI packages as uv locked them
        spec = replace(parse_file(lock, "uv-lock", request.extras, request.groups),
                       python=parse_file(request.spec_file, request.spec_kind).python)
    elif request.spec_file:
        spec = parse_file(request.spec_file, request.spec_kind, request.extras, request.groups)
    else:
        spec = EnvSpec()
    if request.conda_pkgs or request.pypi_pkgs:
        spec = merged_spec(spec, EnvSpec(conda_deps=tuple(request.conda_pkgs), pypi_deps=tuple(request.pypi_pkgs),
                                         platform=spec.platform))
    if request.python:
        spec = replace(spec, python=_both_pythons(spec.python, request.python, request.spec_file))
    return spec


# Every Python release a request could mean: enough to tell whether two specs share one.
_PYTHON_RELEASES = ["3.%d.%d" % (minor, patch) for minor in range(0, 40) for patch in range(0, 40)]


def _both_pythons(from_file: Optional[str], from_option: str, spec_file: Optional[str]) -> str:
    """--python narrows the file's own Python requirement; it may not contradict it."""
    if not from_file:
        return from_option
    from rattler import VersionSpec

    in_file, in_option = VersionSpec(from_file), VersionSpec(from_option)
    releases = [_version(v) for v in _PYTHON_RELEASES]
    by_file = {str(v) for v in releases if in_file.matches(v)}
    by_option = {str(v) for v in releases if in_option.matches(v)}
    if not by_file & by_option:
        raise SpecError("--python %s contradicts %s, which asks for Python %s: drop --python or change the "
                        "file." % (from_option, spec_file, from_file))
    if by_option <= by_file:
        return from_option
    return from_file if by_file <= by_option else "%s,%s" % (from_file, from_option)


def _version(text: str):
    from rattler import Version

    return Version(text)


def _verification_report(progress: Progress) -> Callable[[Verification], None]:
    def report(result: Verification) -> None:
        for line in result.warnings():  # not verified: shown even with --quiet
            progress.warn(line)
        for line in result.notes():
            progress.note(line)

    return report


# (spec, datastore type, the environment extended or None) -> spec plus what Metaflow needs in a
# task: passed in by the caller (integration.metaflow_needs.with_metaflow_needs), as it asks Metaflow.
AddMetaflowNeeds = Callable[[EnvSpec, Optional[str], Optional[ResolvedEnvironment]], EnvSpec]


def resolve(envs: Environments, request: ResolveRequest, spec: EnvSpec,
            progress: Progress, add_metaflow_needs: AddMetaflowNeeds) -> List[ResolvedEnvironment]:
    """Resolve (or reuse) the environment for each architecture of `spec` (what
    `read_request(request)` gave), in parallel; unless a dry run, publish them (when there is
    a datastore) and alias the first one. `add_metaflow_needs` adds what Metaflow needs in a
    task (unless the request skips them)."""
    if spec.pypi_locked is not None:
        progress.note("PyPI packages as locked in %s, not re-resolved%s." % (
            spec.pypi_locked.source, " (--no-uv-lock resolves the pyproject.toml instead)"
            if request.spec_kind == "pyproject" else ""))
        if spec.pypi_locked.left_out:
            progress.note("Left out of %s: %s, the project itself (its folder; a flow ships its own code)."
                          % (spec.pypi_locked.source, ", ".join(spec.pypi_locked.left_out)))
    base = find(envs, request.using) if request.using is not None else None
    previous = find(envs, request.prefer) if request.prefer is not None else base
    prefer = Preferences.of(previous, request.upgrade_all, request.upgrade)
    earlier = find(envs, request.from_env) if request.from_env is not None else None
    # --from asks for a new resolution of an old request: reusing the known one would change nothing.
    options = dict(force=request.force or earlier is not None, dry_run=request.dry_run,
                   set_default=request.set_default, local_only=request.local_only,
                   verify=_verification_report(progress) if request.verify else None)
    done = []

    def target_of(arch: str) -> EnvSpec:
        target = spec.for_platform(arch)
        if earlier is not None:
            target = merged_spec(earlier.spec, target)
        if request.metaflow_deps:
            target = add_metaflow_needs(target, request.datastore, base)
        return target

    targets = {arch: target_of(arch) for arch in request.archs}
    # The file's own warnings, and pip's settings that are not applied.
    for warning in request_warnings(targets.values()):
        progress.warn(warning)

    def one(arch: str) -> ResolvedEnvironment:
        target = targets[arch]
        env = (envs.extend(base, target, prefer, **options) if base is not None
               else envs.resolve(target, prefer=prefer, **options))
        done.append(arch)
        return env

    what = ("Extending %s" % request.using if base is not None else
            "Re-resolving the request of %s" % request.from_env if earlier is not None else "Resolving")
    archs = list(request.archs)
    # Notices from the work (a wheel built from source...) are shown as it goes.
    with progress.task("%s for %s" % (what, ", ".join(archs)), total=len(archs) if len(archs) > 1 else None,
                       poll=lambda: len(done)), relayed_to(progress.note):
        with stop_on_signals(), ThreadPoolExecutor(max_workers=min(4, len(archs))) as pool:
            results = list(pool.map(one, archs))  # SIGTERM/SIGINT: the workers clean up, then we stop
    for env in results:
        for note in host_only_build_notes(env):
            progress.warn(note)
    if request.dry_run:
        progress.note("Dry run: nothing was recorded, published or aliased (downloads, wheels built from "
                      "sources and build interpreters stay cached for reuse).")
        return results
    if envs.store is not None:
        with progress.task("Publishing to %s" % envs.store.root):
            for env in results:
                envs.publish(env)
    for alias in request.aliases:
        envs.alias(results[0], alias)
    if request.aliases:
        progress.note("Aliased %s to %s:%s (%s)%s." % (
            ", ".join(str(a) for a in request.aliases), results[0].req_id, results[0].full_id, results[0].arch,
            "; an alias names one environment, that of the first --arch" if len(results) > 1 else ""))
    return results
