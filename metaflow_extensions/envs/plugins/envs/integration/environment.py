"""`--environment=conda` and `--environment=pypi`: the environment of every step.

Before any task starts (`init_environment`, called when Metaflow builds the code package),
every step's request is resolved — or reused — in parallel, for the platform the step runs
on, and published to the datastore when it is not local. Local tasks then run with their
environment's interpreter (see task_launch.py); remote tasks hydrate theirs with the
bootstrap module. Each step's request is computed once (`request_for`) and read by all. Engine imports stay inside methods: this module is also
loaded in task processes, inside the user's environment.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from metaflow.metaflow_environment import MetaflowEnvironment

from .metaflow_errors import translated

BOOTSTRAP_MODULE = "metaflow_extensions.envs.plugins.envs.integration.bootstrap"
REMOTE_PREFIX_DIR = "metaflow_envs"


def remote_decorators() -> FrozenSet[str]:
    """Step decorators that send a task to another machine: METAFLOW_CONDA_REMOTE_COMMANDS, plus
    a list another extension's configuration sets as the reference extension's users do
    (`CONDA_REMOTE_COMMANDS = ("batch", "kubernetes", "titus")` in its mfextinit_*.py)."""
    import sys

    from .. import settings

    names = set(settings.value("CONDA_REMOTE_COMMANDS") or ())
    # Read from each extension's configuration module, not from metaflow_config where the one
    # loaded last (maybe ours, which registers the setting as text) hides the others.
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("metaflow_extensions.") and ".config." in module_name:
            from_extension = getattr(module, "CONDA_REMOTE_COMMANDS", None)
            if isinstance(from_extension, (list, tuple)):  # ours is text
                names.update(n for n in from_extension if isinstance(n, str))
    return frozenset(names)


class CondaEnvironment(MetaflowEnvironment):
    TYPE = "conda"

    def __init__(self, flow: Any) -> None:
        super().__init__(flow)
        self.flow = flow
        self.datastore_type: Optional[str] = None
        self._envs: Dict[str, Any] = {}  # step name -> ResolvedEnvironment
        self._requests: Dict[str, Any] = {}  # step name -> StepEnvRequest, where step_init did not run
        self._reused: Dict[str, bool] = {}  # step name -> its environment was known already (not resolved)
        self._environments = None
        # Set by Metaflow itself (--force-rebuild-environments): re-resolve known requests.
        self._force_rebuild = False

    # ---- Metaflow hooks -----------------------------------------------------------------
    def validate_environment(self, logger: Any, datastore_type: str) -> None:
        self.datastore_type = datastore_type
        self.logger = logger
        accept_force_rebuild_after_command()

    def decospecs(self) -> Tuple[str, ...]:
        # Every step gets our step decorator, so its runtime hooks run for every step.
        return ("conda",) + tuple(super().decospecs())

    @translated
    def init_environment(self, echo: Callable[..., None], only_steps: Optional[List[str]] = None,
                         force: bool = False) -> None:
        """Resolve (or reuse) the environment of every step (or `only_steps`); `force`
        re-resolves known requests, as Metaflow's --force-rebuild-environments does."""
        jobs = self.step_jobs(only_steps)
        remote_steps = [name for steps in jobs.values() for name in steps if self.is_remote(name)]
        # On the local datastore Metaflow itself refuses to send a task elsewhere, and flow-level
        # commands (environment resolve/show) must keep working there.
        if remote_steps and self.manager().store is None and (self.datastore_type or "local") != "local":
            from ..errors import EnvError

            raise EnvError("Step%s %s run%s on other machines, which hydrate environments from the %s datastore, but "
                           "METAFLOW_CONDA_IGNORE_CACHING_DATASTORES keeps environments out of it: remove '%s' from "
                           "that setting." % ("s" if len(remote_steps) > 1 else "", ", ".join(remote_steps),
                                              "" if len(remote_steps) > 1 else "s", self.datastore_type,
                                              self.datastore_type))
        resolved = self.resolve_jobs(echo, jobs, force or self._force_rebuild)
        for steps, env, reused in resolved:
            for name in steps:
                self._envs[name] = env
                self._reused[name] = reused
        remote_archs = {e.arch for name, e in self._envs.items() if self.is_remote(name)}
        if resolved and self.manager().store is not None:
            self.publish(self._envs.values())
            if remote_archs:
                from .tools import publish_tools

                for arch in sorted(remote_archs):
                    publish_tools(self.manager(), arch)

    def step_jobs(self, only_steps: Optional[List[str]] = None,
                  archs: Optional[List[str]] = None) -> Dict[Tuple, List[str]]:
        """The environments to resolve, (arch, base, base_kind, spec) -> their steps: for
        each step's own platform, or for each of `archs` when given."""
        jobs: Dict[Tuple, List[str]] = {}
        for step in self.flow:
            if only_steps and step.name not in only_steps:
                continue
            request = self.request_for(step.name)
            if request is None or request.disabled or request.fetch_at_exec:
                continue
            for arch in archs or [self.arch_of(step.name)]:
                jobs.setdefault(self._job(request, arch), []).append(step.name)
        return jobs

    def publish(self, envs: Iterable[Any]) -> None:
        """Publish `envs` (each once, in parallel) to the datastore."""
        unique = {e.full_id: e for e in envs}
        with ThreadPoolExecutor(max_workers=min(8, len(unique) or 1)) as pool:
            list(pool.map(self.manager().publish, unique.values()))

    @translated
    def resolve_jobs(self, echo: Callable[..., None], jobs: Dict[Tuple, List[str]], force: bool = False,
                     dry_run: bool = False) -> List[Tuple[List[str], Any, bool]]:
        """Resolve (or reuse) `jobs` in parallel: (steps, ResolvedEnvironment, whether it was
        known already and reused) for each. A `dry_run` records nothing. With
        METAFLOW_CONDA_VERIFY, each is verified first."""
        from .. import settings
        from ..errors import EnvError
        from ..ids import EnvID
        from ..plumbing.signals import stop_on_signals
        from ..resolve.pypi import host_only_build_notes
        from ..resolve.resolver import request_warnings

        if not jobs:
            return []
        verify = _verification_echo(echo) if settings.verify() else None
        echo("Resolving %d environment%s for %s..." % (len(jobs), "s" if len(jobs) > 1 else "", self.flow.name))
        for warning in request_warnings(job[3] for job in jobs):
            echo("    Warning: " + warning)
        from ..plumbing.notices import relayed_to

        # Notices from the work (a wheel built from source...) are shown as it goes; on
        # SIGTERM/SIGINT the workers clean up (a verification's scratch prefix), then we stop.
        with stop_on_signals(), ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool, \
                relayed_to(lambda line: echo("    " + line)):
            outcomes = list(pool.map(lambda item: _outcome(self._run_job, item[0], force, item[1], dry_run, verify),
                                     jobs.items()))
        failed = [(steps, err) for steps, (_, err) in zip(jobs.values(), outcomes) if err is not None]
        if failed:  # every failing environment at once, each named by its steps
            raise EnvError("\n".join("Step%s %s: %s" % ("s" if len(steps) > 1 else "", ", ".join(steps), err)
                                     for steps, err in failed))
        done = []
        for steps, ((env, seconds, reused), _) in zip(jobs.values(), outcomes):
            echo("    %s: %s environment %s (Python %s, %d packages) %s" % (
                ", ".join(steps), env.env_type, env.full_id[:12], env.python_version, len(env.packages),
                "reused" if reused else "resolved in %.1fs" % seconds))
            for note in [] if reused else host_only_build_notes(env):
                echo("    Note: " + note)
            if not dry_run:
                for name in steps:
                    self.manager().index.set_step_env(self.flow.name, name, EnvID.of(env))
            done.append((steps, env, reused))
        return done

    def bootstrap_commands(self, step_name: str, datastore_type: str) -> List[str]:
        request = self.request_for(step_name)
        if request is None or request.disabled:
            return super().bootstrap_commands(step_name, datastore_type)
        args = ["--datastore", datastore_type, "--prefix-dir", REMOTE_PREFIX_DIR, "--step", step_name,
                "--flow", self.flow.name]
        env = self._envs.get(step_name)
        if env is not None:
            from ..ids import EnvID

            args += ["--env-id", str(EnvID.of(env))]
        else:  # fetch_at_exec: looked up by the node, after substituting @{VAR}
            args += ["--name", request.base, "--kind", request.base_kind or "generic", "--arch", self.arch_of(step_name)]
        from .bootstrap import exports_file

        return [
            "mflog 'Bootstrapping the step environment...'",
            "flush_mflogs",
            "python -m %s %s" % (BOOTSTRAP_MODULE, " ".join("'%s'" % a for a in args)),
            # PYTHONPATH and LD_LIBRARY_PATH as the bootstrap leaves them (bootstrap.node_exports)
            ". '%s'" % exports_file(Path(REMOTE_PREFIX_DIR), step_name),
            "mflog 'Environment ready.'",
            "flush_mflogs",
        ]

    def add_to_package(self) -> List[Any]:
        """The locks of the flow's steps travel in the code package (as the reference's
        `conda_v2.cnd`): a node hydrates its step from them, needing no lock lookup by id
        and no alias, only the datastore's packages (bootstrap.packaged_lock)."""
        files = list(super().add_to_package())
        if self._envs:
            from .bootstrap import LOCKS_FILE

            try:
                from metaflow.packaging_sys import ContentType
            except ImportError:  # Metaflow < 2.16: (path, arcname), at the package's root
                files.append((str(self._locks_file()), LOCKS_FILE))
            else:
                files.append((str(self._locks_file()), LOCKS_FILE, ContentType.OTHER_CONTENT))
        return files

    def _locks_file(self) -> Path:
        """The steps' locks as one JSON file, named by its content under the cache (Metaflow
        reads it when it builds the package, after this returns)."""
        import hashlib
        import json

        from .. import settings
        from ..layout import CACHE_CODE_LOCKS

        unique = {e.full_id + e.req_id + e.arch: e for e in self._envs.values()}
        text = json.dumps({"locks": [unique[k].to_dict() for k in sorted(unique)]}, sort_keys=True)
        path = settings.cache_dir(CACHE_CODE_LOCKS) / (hashlib.sha256(text.encode()).hexdigest() + ".json")
        if not path.exists():
            staging = path.with_name(".%s.%d" % (path.name, os.getpid()))
            staging.write_text(text)
            os.replace(str(staging), str(path))
        return path

    def executable(self, step_name: str, default: Optional[str] = None) -> str:
        request = self.request_for(step_name)
        if request is None or request.disabled or not self.is_remote(step_name):
            return super().executable(step_name, default)
        # The bootstrap links the step's environment here; -s keeps user site-packages out.
        return os.path.join(REMOTE_PREFIX_DIR, step_name, "bin", "python") + " -s"

    # ---- our API, used by the step decorators, task_launch and the flow CLI -------------
    def request_for(self, step_name: str) -> Optional[Any]:
        """The StepEnvRequest of `step_name` (None: no environment decorator applies, or no
        such step), computed once: by its decorator's step_init, or here in the commands
        where step_init does not run (a task's `kubernetes step`...)."""
        step = self._step(step_name)
        if step is None:
            return None
        holder = next((d for d in step.decorators if getattr(d, "holds_request", False)), None)
        if holder is not None:
            return holder.request
        if step_name not in self._requests:
            self._requests[step_name] = self.step_request(self.flow, step_name, step.decorators)
        return self._requests[step_name]

    def step_request(self, flow: Any, step_name: str, decorators: Sequence[Any]) -> Optional[Any]:
        """The request of a step with these decorators: what they ask for. Called by the step
        decorators' step_init too, so an environment may decide otherwise (see uv_environment)."""
        from .decorators import step_request

        return step_request(flow, step_name, decorators)

    def resolved(self, step_name: str) -> Optional[Any]:
        """The ResolvedEnvironment init_environment found for `step_name` (None: not yet, or
        looked up only when the task starts)."""
        return self._envs.get(step_name)

    def was_reused(self, step_name: str) -> bool:
        """Whether init_environment found the environment of `step_name` already known
        (reused) rather than resolving it."""
        return self._reused.get(step_name, False)

    def use_local_only(self) -> None:
        """From now on, only this machine's index and cache: the datastore is neither read
        (aliases, locks) nor written (publishing)."""
        from ..environments import Environments

        self._environments = Environments.for_datastore(self.datastore_type or "local", local_only=True)

    def manager(self):
        if self._environments is None:
            from ..environments import Environments

            self._environments = Environments.for_datastore(self.datastore_type or "local")
        return self._environments

    def is_remote(self, step_name: str) -> bool:
        step = self._step(step_name)
        if step is None:
            return False
        remote = remote_decorators()
        return any(d.name in remote for d in step.decorators)

    def arch_of(self, step_name: str) -> str:
        from .. import settings
        from ..resolve.platforms import host_platform

        if self.is_remote(step_name):
            return settings.get("CONDA_REMOTE_ARCH") or settings.get("KUBERNETES_CONDA_ARCH") or "linux-64"
        return host_platform()

    @translated
    def env_for_task(self, step_name: str, variables: Dict[str, str]) -> Optional[Any]:
        """The environment a task of `step_name` runs in (looked up now for fetch_at_exec)."""
        request = self.request_for(step_name)
        if request is None or request.disabled:
            return None
        if step_name in self._envs:
            return self._envs[step_name]
        if not request.fetch_at_exec:
            self.init_environment(lambda *a, **k: None, only_steps=[step_name])
            return self._envs.get(step_name)
        from ..ids import substitute_vars

        name = substitute_vars(request.base, variables)
        env = self.manager().lookup(name, arch=self.arch_of(step_name), kind=request.base_kind)
        from .metaflow_needs import missing_from

        missing = missing_from(env, self.datastore_type)
        if missing:  # known only when the task starts: too late to extend it, say what to add
            from ..errors import EnvError

            raise EnvError("Environment '%s' lacks what Metaflow needs in a task (%s): add them to it, or "
                           "extend it on the step, e.g. @pypi(packages={%s})." % (
                               name, ", ".join(map(str, missing)),
                               ", ".join('"%s": ""' % d.name for d in missing)))
        return env

    @translated
    def hydrate(self, env: Any) -> str:
        from ..hydrate.prefix import python_in

        return str(python_in(self.manager().create(env)))

    @translated
    def record_pathspec(self, env: Any, flow_name: str, run_id: str, step_name: str) -> None:
        from ..ids import pathspec_alias

        self.manager().alias(env, pathspec_alias(flow_name, run_id, step_name))
        root = local_run_root(flow_name, run_id)
        if root is not None:  # lets `create --into-dir Flow/run/step` read the run from anywhere
            self.manager().index.set_run_root(flow_name, run_id, root)

    @translated
    def record_cloned_pathspec(self, flow_name: str, run_id: str, step_name: str, origin_run: str,
                               origin_env_id: Optional[str]) -> None:
        """`Flow/run/step` of a step cloned by `resume` names what its origin ran in: the
        origin's own pathspec, else the `conda_env_id` in the cloned task's metadata (an
        origin made by a version that named no cloned step). Nothing when neither is known."""
        from ..errors import EnvError
        from ..ids import ALIAS_PATHSPEC, EnvID, pathspec_alias

        manager = self.manager()
        try:
            env = manager.lookup(str(pathspec_alias(flow_name, origin_run, step_name)), kind=ALIAS_PATHSPEC)
        except EnvError:
            if not origin_env_id:
                return
            try:
                env = manager.get(EnvID.parse(origin_env_id))
            except (EnvError, ValueError):
                return
        manager.record_alias(env, pathspec_alias(flow_name, run_id, step_name))

    # ---- internals ----------------------------------------------------------------------
    def _step(self, step_name: str) -> Optional[Any]:
        return next((s for s in self.flow if s.name == step_name), None)

    def _job(self, request: Any, arch: str) -> Tuple:
        spec = request.spec
        if spec is not None:
            from .metaflow_needs import with_metaflow_needs

            spec = with_metaflow_needs(spec.for_platform(arch), self.datastore_type, no_pypi=request.no_pypi)
        return (arch, request.base, request.base_kind, spec)

    def _previous(self, steps: List[str], arch: str) -> Optional[Any]:
        """What these steps resolved to last on this machine (the first one known): the
        versions a changed request keeps where it can."""
        index = self.manager().index
        for name in steps:
            env_id = index.step_env(self.flow.name, name, arch)
            env = index.load(env_id) if env_id is not None else None
            if env is not None:
                return env
        return None

    def _run_job(self, job: Tuple, force: bool, steps: List[str], dry_run: bool = False,
                 verify: Optional[Callable[[Any], None]] = None) -> Tuple[Any, float, bool]:
        from .. import settings
        from ..resolve.preferences import Preferences, parse_upgrade_setting

        arch, base, base_kind, spec = job
        started = time.time()
        manager = self.manager()
        upgrade_all, upgrade = parse_upgrade_setting(settings.get("CONDA_UPGRADE"))
        previous = self._previous(steps, arch)
        if base is None:
            prefer = Preferences.of(previous, upgrade_all, upgrade)
            known_before = _known(manager, spec) and not force and not prefer.lifts
            env = manager.resolve(spec, force=force, dry_run=dry_run, prefer=prefer, verify=verify)
            return env, time.time() - started, known_before
        if spec is None:
            env = manager.lookup(base, arch=arch, kind=base_kind)
            from .metaflow_needs import missing_from

            missing = missing_from(env, self.datastore_type)
            if not missing:
                return env, time.time() - started, True
            # As the reference does: extended with them (every version it locked kept), not refused.
            from ..spec.model import EnvSpec

            return (manager.extend(env, EnvSpec(pypi_deps=missing, platform=arch), force=force, dry_run=dry_run,
                                   verify=verify),
                    time.time() - started, False)
        # Extending may re-resolve for another platform: the base's arch need not match.
        env = manager.lookup(base, kind=base_kind)
        return (manager.extend(env, spec, Preferences.of(previous or env, upgrade_all, upgrade), force=force,
                               dry_run=dry_run, verify=verify),
                time.time() - started, False)


def _verification_echo(echo: Callable[..., None]) -> Callable[[Any], None]:
    """How a flow shows what verifying an environment found (a failure is an error instead)."""
    def report(result: Any) -> None:
        for line in result.warnings() + result.notes():
            echo("    %s" % line)

    return report


def _outcome(run: Callable, *args: Any) -> Tuple[Any, Any]:
    """(result, None), or (None, the EnvError) so that one failure does not hide the others."""
    from ..errors import EnvError

    try:
        return run(*args), None
    except EnvError as err:
        return None, err


def _known(manager: Any, spec: Any) -> bool:
    from ..resolve.resolver import with_defaults

    filled = with_defaults(spec)
    return manager.index.default(filled.platform, filled.req_id) is not None


class PypiEnvironment(CondaEnvironment):
    """`--environment=pypi` selects the very same environment."""

    TYPE = "pypi"


def local_run_root(flow_name: str, run_id: str) -> Optional[str]:
    """The `.metaflow` directory holding this run when Metaflow keeps it locally (local
    metadata or datastore): found from the working directory (or
    METAFLOW_DATASTORE_SYSROOT_LOCAL), as Metaflow finds it."""
    from metaflow.plugins.datastores.local_storage import LocalStorage

    root = LocalStorage.get_datastore_root_from_config(lambda *args, **kwargs: None, create_on_absent=False)
    if root and os.path.isdir(os.path.join(root, flow_name, str(run_id))):
        return os.path.abspath(root)
    return None


FORCE_REBUILD = "--force-rebuild-environments"


def accept_force_rebuild_after_command() -> None:
    """Metaflow reads --force-rebuild-environments before the command only (`python flow.py
    --force-rebuild-environments run`); people write it after `run` or `resume`, with the
    other options of what they run. Called while Metaflow's top-level group runs, before the
    command's own options are parsed: the command gets the same flag."""
    from metaflow._vendor import click

    ctx = click.get_current_context(silent=True)
    # Metaflow's group runs before resolving its command, and keeps the rest of the command
    # line in `saved_args` for this very purpose ("to infer what we are calling next").
    rest = getattr(ctx, "saved_args", None) or [None]
    if rest[0] not in ("run", "resume"):
        return
    command = ctx.command.get_command(ctx, rest[0])
    if command is None or any(FORCE_REBUILD in getattr(p, "opts", ()) for p in command.params):
        return  # already added (the command object is shared), or a flow parameter of that name

    def force(click_ctx: Any, _param: Any, value: bool) -> bool:
        if value:
            click_ctx.find_root().obj.environment._force_rebuild = True
        return value

    command.params.append(click.Option(
        [FORCE_REBUILD], is_flag=True, default=False, expose_value=False, callback=force,
        help="Resolve every step's environment again, even those already known (the same as giving "
        "it before the command)."))
