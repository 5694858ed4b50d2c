"""`--environment=uv`: every step runs in the environment a uv project locked (its uv.lock).

It replaces Metaflow's own `uv` environment. The project is the nearest directory holding a
`uv.lock` (with its `pyproject.toml`), from the flow file's directory upwards. Every step's
request is the lock's packages for the step's platform (uv's default groups but `dev`, plus the extras
and groups of METAFLOW_CONDA_UV_EXTRAS / METAFLOW_CONDA_UV_GROUPS) and the Python uv would take
for the project (`project_python`); nothing is resolved again. From there
on it is the `conda` environment's machinery: published to the datastore, hydrated locally
and on remote nodes, tasks run with its interpreter.

The lock is the user's contract: a step decorator asking for other packages is refused. What
Metaflow needs in a task (`requests`, the datastore's client) and the lock lacks is resolved on
top of it, as Metaflow's own uv environment installs it, and said so; the locked versions never
move.
"""
import inspect
import os
import re
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..kinds import Family, PythonSource
from .environment import CondaEnvironment
from .metaflow_errors import translated

UV_LOCK = "uv.lock"
PYPROJECT = "pyproject.toml"
PYTHON_VERSION = ".python-version"


def find_uv_project(start: str) -> str:
    """The nearest directory holding a uv.lock, from `start` upwards; it must hold the
    project's pyproject.toml too (uv writes the lock beside it)."""
    from ..errors import SpecError

    here = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(here, UV_LOCK)):
            if not os.path.isfile(os.path.join(here, PYPROJECT)):
                raise SpecError("%s has no %s beside it: --environment=uv needs the uv project whose lock it is."
                                % (os.path.join(here, UV_LOCK), PYPROJECT))
            return here
        parent = os.path.dirname(here)
        if parent == here:
            raise SpecError("No %s in %s or any directory above it: --environment=uv runs the flow in a uv "
                            "project's locked environment; run `uv lock` in the project holding the flow, or use "
                            "--environment=conda." % (UV_LOCK, os.path.abspath(start)))
        here = parent


def pinned_python(project_dir: str) -> Optional[str]:
    """The Python series or version `uv python pin` wrote (.python-version), as a Conda spec;
    None without one: the launcher's series, as for any request."""
    from ..errors import SpecError

    path = os.path.join(project_dir, PYTHON_VERSION)
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]
    version = lines[0] if lines else ""
    if not re.match(r"^3\.\d+(\.\d+)?$", version):
        raise SpecError("%s says %r: --environment=uv takes a CPython version there, such as 3.11 or 3.11.7 "
                        "(`uv python pin 3.11`)." % (path, version))
    return version if version.count(".") == 2 else version + ".*"


def project_python(project_dir: str, requires_python: Optional[str]) -> Tuple[Optional[str], str]:
    """The Python of the project's environment as a Conda spec (None: the launcher's series, as
    for any request), and one line saying why. As uv picks one: the project's .python-version;
    else the series of the Python running the flow, if `requires_python` (the lock's) allows it;
    else what `requires_python` allows, the newest the Python source has (an interpreter of this
    machine, or the channels' python)."""
    import platform

    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from .. import settings
    from ..spec.pyproject import requires_python_spec

    pinned = pinned_python(project_dir)
    if pinned is not None:
        return pinned, "Python %s, as its %s says" % (pinned, PYTHON_VERSION)
    launcher = platform.python_version()
    try:
        allowed = not requires_python or SpecifierSet(requires_python).contains(launcher, prereleases=True)
    except InvalidSpecifier:
        allowed = True  # the lock reader refuses it, naming the lock
    if allowed:
        return None, "Python %s.*, the series of the Python running the flow" % launcher.rsplit(".", 1)[0]
    source = ("this machine's interpreters" if settings.python_source() == PythonSource.SYSTEM
              else "the Conda channels' python packages")
    return requires_python_spec(requires_python), (
        "Python %s (its requires-python), the newest of %s: the Python running the flow, %s, is not allowed"
        % (requires_python, source, launcher))


class UvEnvironment(CondaEnvironment):
    TYPE = "uv"

    def __init__(self, flow: Any) -> None:
        super().__init__(flow)
        self._project: Optional[Tuple[str, Any]] = None  # (project dir, EnvSpec), read once
        self._added: Set[str] = set()  # Metaflow's needs the lock lacks, resolved on top of it
        self._python_note = ""  # which Python the project's environment has, and why

    @translated
    def step_request(self, flow: Any, step_name: str, decorators: Sequence[Any]) -> Optional[Any]:
        """Every step asks for the uv project's environment; environment decorators are refused
        (what they add would not be in the lock)."""
        from .decorator_rules import StepEnvRequest
        from .decorators import InvalidEnvRequest

        asked = super().step_request(flow, step_name, decorators)
        if asked is not None:
            raise InvalidEnvRequest(
                "Step '%s' uses @%s (or @%s_base): with --environment=uv every step runs in the uv project's "
                "locked environment. Remove the decorator and add its packages to the project (`uv add ...`), "
                "or run the flow with --environment=conda." % (step_name, asked.family, asked.family))
        return StepEnvRequest(step=step_name, family=Family.PYPI, disabled=False, spec=self.project()[1], base=None,
                              base_kind=None, fetch_at_exec=False)

    def project(self) -> Tuple[str, Any]:
        """(directory, EnvSpec) of the flow's uv project, with the configured extras and groups."""
        if self._project is None:
            project_dir = find_uv_project(os.path.dirname(inspect.getfile(type(self.flow))))
            from .. import settings
            from ..spec.lockfiles import spec_from_uv_project

            # As Metaflow's own uv environment (`uv sync --no-dev`): the dev group is a developer's.
            spec = spec_from_uv_project(project_dir, extras=settings.names("CONDA_UV_EXTRAS"),
                                        groups=settings.names("CONDA_UV_GROUPS"), dev=False)
            python, self._python_note = project_python(project_dir, spec.pypi_locked.requires_python)
            self._project = (project_dir, replace(spec, python=python))
        return self._project

    @translated
    def init_environment(self, echo: Callable[..., None], only_steps: Optional[List[str]] = None,
                         force: bool = False) -> None:
        super().init_environment(echo, only_steps, force)
        if self._added:
            echo("    The uv lock lacks what Metaflow needs in a task: %s resolved on top of it (the lock's own "
                 "versions unchanged); `uv add` them to the project to lock them yourself."
                 % ", ".join(sorted(self._added)))

    @translated
    def resolve_jobs(self, echo: Callable[..., None], jobs: Dict[Tuple, List[str]], force: bool = False,
                     dry_run: bool = False) -> List[Tuple[List[str], Any]]:
        """As for any flow, after one line saying which Python the project's environment has."""
        if jobs:
            echo("uv project %s: %s." % (self.project()[0], self._python_note))
        return super().resolve_jobs(echo, jobs, force, dry_run)

    # ---- internals ----------------------------------------------------------------------
    def _job(self, request: Any, arch: str) -> Tuple:
        # The lock as it is, plus what Metaflow needs in a task when it lacks it (as Metaflow's own
        # uv environment installs them): resolved around the locked versions, which never move.
        from .metaflow_needs import with_metaflow_needs

        locked = request.spec.for_platform(arch)
        spec = with_metaflow_needs(locked, self.datastore_type)
        self._added.update(str(d) for d in spec.pypi_deps[len(locked.pypi_deps):])
        return (arch, None, None, spec)
