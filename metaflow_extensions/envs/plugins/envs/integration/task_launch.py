"""What happens when a local task starts: the launcher hydrates the step's environment and
runs the task with its interpreter, on the extracted code package; inside the task, the
environment's own tools come first on PATH.

Called by the step decorators' runtime hooks (decorators.py), which Metaflow invokes. Loaded
in task processes too, inside the user's environment: engine and Metaflow imports stay
inside functions.
"""
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Set, Tuple

# Standard library only, like this module's top level: tasks import it in the user's environment.
from ..layout import CACHE_CODE, PREFIX_COMPLETE, PREFIX_ENV_ID


@dataclass
class _LocalRun:
    """What the runtime hooks of every step share within the launcher process."""

    run_id: Optional[str] = None
    code_dir: str = ""  # the code package, extracted, importable by tasks
    code_env: Dict[str, str] = field(default_factory=dict)
    recorded: Set[Tuple[str, str]] = field(default_factory=set)  # (run_id, step) named already

    @property
    def trampolines(self) -> str:
        return os.path.join(self.code_dir, "_escape_trampolines")


_RUN = _LocalRun()
_PARAMETERS_CACHE: Dict[Tuple[str, str], Dict[str, str]] = {}


def start_run(package: Any, run_id: str) -> None:
    """Before the first task of a run: extract the code package (a stat once extracted)."""
    _RUN.run_id = run_id
    _RUN.code_dir = _extracted_code_package(package)
    if hasattr(package, "get_post_extract_env_vars"):
        _RUN.code_env = package.get_post_extract_env_vars(package.package_metadata, _RUN.code_dir)
    else:  # Metaflow < 2.16: the package's top directory is all tasks need on their path
        _RUN.code_env = {}


def task_interpreter(environment: Any, flow: Any, step_name: str, task_id: str) -> Optional[str]:
    """The Python a local task of `step_name` runs with, its environment hydrated (None:
    the launcher's own, or the step runs remotely and its node hydrates it). The first task
    of a step records `Flow/run/step` as a name of that environment."""
    if environment.is_remote(step_name):
        return None
    run_id = str(_RUN.run_id)
    variables = dict(os.environ, METAFLOW_RUN_ID=run_id, METAFLOW_STEP_NAME=step_name,
                     METAFLOW_TASK_ID=str(task_id), **_parameter_variables(flow, run_id))
    env = environment.env_for_task(step_name, variables)
    if env is None:
        return None
    interpreter = environment.hydrate(env)
    if (run_id, step_name) not in _RUN.recorded:
        environment.record_pathspec(env, flow.name, run_id, step_name)
        _RUN.recorded.add((run_id, step_name))
    return interpreter


def name_cloned_step(environment: Any, flow: Any, step_name: str, failed: bool = False) -> None:
    """At the end of a resumed run: a step cloned from the origin run started no task here, so
    `Flow/<this run>/step` is recorded now, naming the environment its origin ran in (the
    origin's pathspec, else its task's `conda_env_id`). Once per step; nothing for steps
    that ran here (task_interpreter named them) or that neither ran nor were cloned."""
    run_id = str(_RUN.run_id)
    if _RUN.run_id is None or (run_id, step_name) in _RUN.recorded:
        return
    _RUN.recorded.add((run_id, step_name))
    try:
        origin = _clone_origin(flow.name, run_id, step_name)
        if origin is not None:
            environment.record_cloned_pathspec(flow.name, run_id, step_name, *origin)
    except Exception:
        if not failed:  # a failed run's own error is the one to report, not this one
            raise


def _clone_origin(flow_name: str, run_id: str, step_name: str) -> Optional[Tuple[str, Optional[str]]]:
    """(origin run id, the `conda_env_id` the task's metadata shows) when this run's
    `step_name` was cloned from another run (Metaflow records `origin-run-id` on a cloned
    task); None when the step has no cloned task in this run."""
    from metaflow import Step
    from metaflow.exception import MetaflowNotFound

    try:
        task = Step("%s/%s/%s" % (flow_name, run_id, step_name), _namespace_check=False).task
    except MetaflowNotFound:
        return None
    meta = task.metadata_dict if task is not None else {}
    origin_run = meta.get("origin-run-id")
    return (origin_run, meta.get("conda_env_id")) if origin_run else None


def use_interpreter(cli_args: Any, interpreter: str) -> None:
    """Run the task with `interpreter`. Metaflow (and this extension) come from the code
    package; nothing of the outer Python leaks in: no user site-packages, no outer
    PYTHONPATH entries, the environment's lib/ before LD_LIBRARY_PATH's folders. Metaflow's
    environment escape reaches back to the outer Python."""
    cli_args.entrypoint[0] = interpreter
    env = {
        "PYTHONNOUSERSITE": "1",
        "PYTHONPATH": os.pathsep.join([_RUN.code_dir, _RUN.trampolines]),
        "METAFLOW_ENV_ESCAPE_PY": sys.executable,
        "METAFLOW_ENV_ESCAPE_PATHS": os.pathsep.join(p or os.getcwd() for p in sys.path),
    }
    for key, value in _RUN.code_env.items():
        if key.endswith(":"):
            env[key[:-1]] = value
        elif key == "PYTHONPATH":
            env[key] = os.pathsep.join([value, env["PYTHONPATH"]])
        else:
            env[key] = value
    library_path = os.environ.get("LD_LIBRARY_PATH")
    if library_path and sys.platform.startswith("linux"):
        # As on a node (bootstrap.node_exports) and as the reference extension does: the
        # environment's libraries before this machine's; Metaflow's environment escape
        # restores the original for the outer Python.
        lib = os.path.join(os.path.dirname(os.path.dirname(interpreter)), "lib")
        env.update(MF_ORIG_LD_LIBRARY_PATH=library_path, LD_LIBRARY_PATH=os.pathsep.join([lib, library_path]))
    cli_args.env.update(env)


def record_environment(metadata: Any, run_id: str, step_name: str, task_id: str, retry_count: int) -> None:
    """In a task: record the environment it runs in as the task's `conda_env_id` metadata
    (`req_id:full_id:arch`, as the reference extension names it), for the client and UI."""
    if not in_environment_task():
        return
    try:
        with open(os.path.join(sys.prefix, PREFIX_ENV_ID)) as handle:
            env_id = handle.read().strip()
    except OSError:  # a prefix made by an earlier version: nothing to record
        return
    try:
        from metaflow.metadata_provider import MetaDatum
    except ImportError:  # Metaflow < 2.12.11 names the module metaflow.metadata
        from metaflow.metadata import MetaDatum

    metadata.register_metadata(run_id, step_name, task_id, [MetaDatum(
        field="conda_env_id", value=env_id, type="conda_env_id", tags=["attempt_id:%d" % retry_count])])


def environment_tools_first() -> None:
    """In a task: the environment's own tools (ffmpeg...) come first on PATH."""
    if not in_environment_task():
        return
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = os.pathsep.join(p for p in (bindir, path) if p)


def in_environment_task() -> bool:
    """True inside a task running in one of our environments (its prefix carries our
    completion marker): the request was validated by the launcher already."""
    return os.path.isfile(os.path.join(sys.prefix, PREFIX_COMPLETE))


def _extracted_code_package(package: Any) -> str:
    """The code package extracted under the cache, once per package content: later runs of an
    unchanged flow reuse it, bytecode included (compiled once when this Python may not write
    bytecode, else written by the first tasks)."""
    import compileall
    import shutil
    import tempfile

    from metaflow.plugins.env_escape import generate_trampolines

    from .. import settings

    digest = package.package_sha() if hasattr(package, "package_sha") else None
    if not digest:  # Metaflow only computes it when it uploads the package
        import hashlib

        blob = package.blob
        digest = hashlib.sha256(blob.getvalue() if hasattr(blob, "getvalue") else blob).hexdigest()
    target = settings.cache_dir(CACHE_CODE) / digest[:24]
    if not (target / ".complete").exists():
        staging = tempfile.mkdtemp(prefix=".extract-", dir=str(target.parent))
        _extract_package(package, staging)
        # Metaflow's environment escape: modules it emulates are served by the outer Python
        # through trampolines placed on the tasks' path.
        trampolines = os.path.join(staging, "_escape_trampolines")
        os.makedirs(trampolines)
        generate_trampolines(trampolines)
        if sys.flags.dont_write_bytecode or os.environ.get("PYTHONDONTWRITEBYTECODE"):
            compileall.compile_dir(staging, quiet=1, workers=0)
        open(os.path.join(staging, ".complete"), "w").close()
        try:
            os.rename(staging, target)
        except OSError:  # another run extracted it first
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def _extract_package(package: Any, into: str) -> None:
    """Metaflow's own code package, extracted into `into` (a fresh directory of ours)."""
    try:
        from metaflow.packaging_sys import ContentType
    except ImportError:  # Metaflow < 2.16: the package is a plain tarball of what tasks import
        import io
        import tarfile

        blob = package.blob
        data = blob.getvalue() if hasattr(blob, "getvalue") else blob
        with tarfile.open(fileobj=io.BytesIO(bytes(data)), mode="r:gz") as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.9.17 / 3.11.4
                tar.extractall(into, filter="data")
            else:  # the package this very process just made
                tar.extractall(into)
        return
    package.extract_into(into, ContentType.ALL_CONTENT)


def _parameter_variables(flow: Any, run_id: str) -> Dict[str, str]:
    """METAFLOW_INIT_<PARAM> for the run's flow parameters (as Argo exports them on nodes),
    read from the run's `_parameters` task — so `resume` sees the original run's values."""
    names = [name for name, _ in flow._get_parameters()]
    if not names:
        return {}
    key = (flow.name, str(run_id))
    if key not in _PARAMETERS_CACHE:
        from metaflow import Step

        task = Step("%s/%s/_parameters" % key, _namespace_check=False).task
        _PARAMETERS_CACHE[key] = {
            "METAFLOW_INIT_%s" % name.upper(): str(task[name].data) for name in names if name in task
        }
    return _PARAMETERS_CACHE[key]
