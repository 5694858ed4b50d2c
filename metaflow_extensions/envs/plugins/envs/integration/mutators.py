"""The reference's flow mutators, `@resolved_uv` and `@resolved_req` (exported as
`from metaflow import resolved_uv, resolved_req`): they pin every step of the flow to a uv
project or to a requirements file.

Each only adds the flow-level decorator that says the same (`@pypi_base(lockfile=...)`,
`@pypi_base(requirements=...)`): from there on it is any flow's machinery. Loaded by `import
metaflow` (toplevel/): nothing heavy at import time. Mutators exist from Metaflow 2.16.
"""
import os
import sys
from typing import Any, Dict, Optional, Tuple

try:
    from metaflow.user_decorators.mutable_flow import MutableFlow
    from metaflow.user_decorators.user_flow_decorator import FlowMutator
except ImportError:  # Metaflow < 2.16: no mutators
    FlowMutator = None  # type: ignore[assignment,misc]


def extension_version() -> str:
    """metaflow-envs' version, as installed (`<unk>` when it is not installed as a package)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover — Python < 3.8
        return "<unk>"
    try:
        return version("metaflow-envs")
    except PackageNotFoundError:
        return "<unk>"


def _base_dir(use_flow_dir: bool) -> str:
    """Where relative paths start: the flow file's directory, else the working directory."""
    return os.path.dirname(os.path.abspath(sys.argv[0])) if use_flow_dir else os.getcwd()


def _base_named(use_flow_dir: bool) -> str:
    """`_base_dir` as a message names it."""
    return "the flow file" if use_flow_dir else "the working directory (use_flow_dir=False)"


def uv_project_request(path: Optional[str], use_flow_dir: bool) -> Dict[str, Any]:
    """@pypi_base's attributes for the uv project at `path` (its directory, its uv.lock or its
    pyproject.toml; None: the nearest project from the base directory upwards)."""
    from ..errors import SpecError
    from .uv_environment import PYPROJECT, UV_LOCK, find_uv_project, project_python

    base = _base_dir(use_flow_dir)
    if path is None:
        project = find_uv_project(base)
    else:
        target = os.path.join(base, os.path.expanduser(path))
        project = os.path.dirname(target) if os.path.basename(target) in (UV_LOCK, PYPROJECT) else target
        if not os.path.isfile(os.path.join(project, UV_LOCK)):
            raise SpecError("@resolved_uv(path=%r): no %s in %s (paths are relative to %s); run `uv lock` in the "
                            "project." % (path, UV_LOCK, project, _base_named(use_flow_dir)))
    from ..spec.lockfiles import spec_from_uv_project

    attributes: Dict[str, Any] = {"lockfile": os.path.join(project, UV_LOCK)}
    python, _ = project_python(project, spec_from_uv_project(project).pypi_locked.requires_python)
    if python:
        attributes["python"] = python
    return attributes


def requirements_request(path: Optional[str], use_flow_dir: bool) -> Dict[str, Any]:
    """@pypi_base's attributes for the requirements file at `path`: a file, or a directory
    holding requirements.txt (pip-compile's pinned output), else requirements.in (None: the
    base directory)."""
    from ..errors import SpecError

    target = os.path.join(_base_dir(use_flow_dir), os.path.expanduser(path or ""))
    if os.path.isdir(target):
        found = [os.path.join(target, n) for n in ("requirements.txt", "requirements.in")
                 if os.path.isfile(os.path.join(target, n))]
        if not found:
            raise SpecError("@resolved_req(path=%r): %s holds neither requirements.txt nor requirements.in."
                            % (path, target))
        target = found[0]
    elif not os.path.isfile(target):
        raise SpecError("@resolved_req(path=%r): %s not found (paths are relative to %s)." % (
            path, target, _base_named(use_flow_dir)))
    return {"requirements": target}


def _pin_flow(mutable_flow: Any, label: str, attributes: Dict[str, Any]) -> None:
    """Add @pypi_base(**attributes); a flow with its own environment decorator is refused."""
    from ..errors import SpecError

    taken = [name for name, _, _, _ in mutable_flow.decorator_specs
             if name in ("conda_base", "pypi_base", "pip_base", "named_env_base")]
    if taken:
        raise SpecError("%s pins every step of the flow, which also has @%s: keep one of them." % (label, taken[0]))
    mutable_flow.add_decorator("pypi_base", deco_kwargs=attributes, duplicates=MutableFlow.ERROR)


if FlowMutator is not None:

    class _PinningMutator(FlowMutator):
        """Adds @pypi_base with what `_request(path, use_flow_dir)` says, before the flow starts.

        Each subclass defines its own `init`, the same: Metaflow refuses arguments to a mutator
        whose class itself (not a base) lacks one."""

        _label = ""
        _where: Tuple[Optional[str], bool] = (None, True)

        @staticmethod
        def _request(path: Optional[str], use_flow_dir: bool) -> Dict[str, Any]:
            raise NotImplementedError

        def pre_mutate(self, mutable_flow: Any) -> None:
            from .decorators import in_task_process
            from .metaflow_errors import translated

            # A task runs in what the launcher resolved and needs no request: its node may hold
            # neither the project nor the requirements file (nor what reading them needs).
            translated(lambda: _pin_flow(mutable_flow, self._label, {} if in_task_process()
                                         else self._request(*self._where)))()

    class resolved_uv(_PinningMutator):  # noqa: N801 — the reference's name
        """
        Runs every step of the flow in the environment a uv project locked (its uv.lock).

        Parameters
        ----------
        path : str, optional, default None
            The uv project: its directory, its uv.lock or its pyproject.toml. By default, the
            nearest directory holding a uv.lock, from the flow file's directory upwards.
        use_flow_dir : bool, default True
            Relative paths start at the flow file's directory; False: at the working directory.
        """

        _label = "@resolved_uv"
        _request = staticmethod(uv_project_request)

        def init(self, path: Optional[str] = None, use_flow_dir: bool = True) -> None:
            self._where = (path, use_flow_dir)

    class resolved_req(_PinningMutator):  # noqa: N801 — the reference's name
        """
        Runs every step of the flow in the environment a requirements file asks for.

        Parameters
        ----------
        path : str, optional, default None
            A requirements.txt or requirements.in, or a directory holding requirements.txt
            (pip-compile's pinned output of requirements.in; used first) or requirements.in.
            By default, the flow file's directory.
        use_flow_dir : bool, default True
            Relative paths start at the flow file's directory; False: at the working directory.
        """

        _label = "@resolved_req"
        _request = staticmethod(requirements_request)

        def init(self, path: Optional[str] = None, use_flow_dir: bool = True) -> None:
            self._where = (path, use_flow_dir)
