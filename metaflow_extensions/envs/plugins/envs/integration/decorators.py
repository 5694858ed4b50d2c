"""The @conda / @pypi / @pip / @named_env decorators (and their flow-level `_base` forms).

They only validate and merge attributes: each step decorator records `self.request` (a
StepEnvRequest, computed by the pure rules in decorator_rules.py) in `step_init`. Resolving,
aliases and hydration belong to the environment object, which reads those requests
(`request_for`); what runs when a local task starts is task_launch's. The
families are told apart with isinstance, so decorators of other extensions that subclass
these count as Conda-, PyPI- or named-env-like.
"""
import json
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence

from metaflow.decorators import FlowDecorator, StepDecorator

from ..errors import SpecError
from . import task_launch
from .metaflow_errors import InvalidEnvRequest, metaflow_error
from .attributes import FAMILY_CONDA, FAMILY_NAMED, FAMILY_PYPI, DecoratorAttrs, defaults_for
from .unknown_attributes import RecordsUnknownAttributes

if TYPE_CHECKING:  # the rules import packaging: only loaded where a request is computed
    from .decorator_rules import StepEnvRequest


# --------------------------------------------------------------------------------------
# Base classes (kept open: the environment integration adds runtime hooks to them)


class EnvStepDecoratorBase(RecordsUnknownAttributes, StepDecorator):
    """What every environment step decorator shares: its `family` and, after step_init,
    the step's `request` (None until then)."""

    family = ""
    request: Optional["StepEnvRequest"] = None
    holds_request = False  # step_init computed the step's request here

    def step_init(self, flow: Any, graph: Any, step_name: str, decorators: List[StepDecorator],
                  environment: Any, flow_datastore: Any, logger: Callable[..., None]) -> None:
        # May run twice (Metaflow re-inits late-attached decorators): recomputed from the
        # attributes, which are never modified.
        self.holds_request = False
        if in_task_process():
            return  # validated by the launcher; a task needs no request (nor its imports)
        check_attributes(self, "@%s on step '%s'" % (self.name, step_name))
        decos = list(decorators)
        if not any(d is self for d in decos):
            decos.append(self)  # Metaflow passes the step's list, self included; be sure
        if _is_attached(self) and any(family_of(d) and d is not self for d in decos):
            self.request = None  # the step's own decorator does the work, once
            return
        ours = getattr(environment, "step_request", None)  # our environments decide (--environment=uv: its project)
        self.request = ours(flow, step_name, decos) if ours else step_request(flow, step_name, decos)
        self.holds_request = True  # the environment reads it from here (request_for)
        self._flow, self._step, self._environment = flow, step_name, environment
        if self.request is not None and not self.request.disabled and getattr(environment, "TYPE", None) not in ("conda", "pypi", "uv"):
            raise InvalidEnvRequest(
                "Step '%s' uses @%s: run the flow with --environment=conda (or --environment=pypi), "
                "e.g. `python flow.py --environment=conda run`." % (step_name, self.name))

    # ---- runtime hooks: the work is task_launch's -----------------------------------------
    interpreter: Optional[str] = None

    def runtime_init(self, flow: Any, graph: Any, package: Any, run_id: str) -> None:
        task_launch.start_run(package, run_id)

    def runtime_task_created(self, task_datastore: Any, task_id: str, split_index: Any, input_paths: Any,
                             is_cloned: bool, ubf_context: Any) -> None:
        # Only the decorator holding the step's request acts (an attached bare @conda does not).
        self.interpreter = None
        if self.request is not None and not self.request.disabled:
            self.interpreter = task_launch.task_interpreter(self._environment, self._flow, self._step, task_id)

    def runtime_step_cli(self, cli_args: Any, retry_count: int, max_user_code_retries: int, ubf_context: Any) -> None:
        if self.interpreter:
            task_launch.use_interpreter(cli_args, self.interpreter)

    def runtime_finished(self, exception: Any) -> None:
        # A resumed run's cloned steps start no task here: name their environments now.
        if self.request is not None and not self.request.disabled:
            task_launch.name_cloned_step(self._environment, self._flow, self._step, failed=exception is not None)

    def task_pre_step(self, step_name: str, task_datastore: Any, metadata: Any, run_id: str, task_id: str,
                      flow: Any, graph: Any, retry_count: int, max_user_code_retries: int, ubf_context: Any,
                      inputs: Any) -> None:
        task_launch.environment_tools_first()
        task_launch.record_environment(metadata, run_id, step_name, task_id, retry_count)

    def make_decorator_spec(self) -> str:
        """`name:attr=value,...` for decorators passed to tasks with `--with`. Unlike
        Metaflow's default, every value is JSON (so python='3.10' does not come back as the
        float 3.1, nor False as the string 'False') and only the attributes the user set are
        written (so the task sees the same user-set attributes, which decide `disabled`)."""
        # Metaflow >= 2.16 evaluates the attributes in external_init, 2.13 to 2.15 in init,
        # older versions when the decorator is made
        evaluate = getattr(self, "external_init", None) or getattr(self, "init", None)
        if evaluate is not None:
            evaluate()
        user_set = getattr(self, "_user_defined_attributes", None)
        keys = user_set if user_set is not None else self.attributes.keys()
        attrs = [(k, self.attributes[k]) for k in self.attributes if k in keys
                 and self.attributes[k] is not None]
        if not attrs:
            return self.name
        return "%s:%s" % (self.name, ",".join(
            "%s=%s" % (k, json.dumps(v).replace('"', '\\"')) for k, v in attrs))


class EnvFlowDecoratorBase(RecordsUnknownAttributes, FlowDecorator):
    """What every flow-level environment decorator shares. It applies to every step; the
    step decorators read it when computing their request."""

    family = ""

    def flow_init(self, flow: Any, graph: Any, environment: Any, flow_datastore: Any,
                  metadata: Any, logger: Any, echo: Any, options: Any) -> None:
        # Flow-level mistakes are reported once, before any step is looked at.
        if in_task_process():
            return
        check_attributes(self, "@%s" % self.name)
        from .decorator_rules import validate_flow_decorators

        try:
            validate_flow_decorators(_flow_env_decorators(flow))
        except SpecError as err:
            raise metaflow_error(err, request=True) from None


# --------------------------------------------------------------------------------------
# Step decorators


class CondaStepDecorator(EnvStepDecoratorBase):
    """
    Specifies the Conda (and optionally PyPI) packages of the step.

    Adds to what `@conda_base` / `@pypi_base` set for the whole flow (the step's version wins
    for a package both name), or extends the environment named by `@named_env_base`. With a
    `@pypi` on the same step, both make one environment.

    Parameters
    ----------
    libraries : Dict[str, str], default {}
        Conda packages: name (or `channel::name`) to version. '1.4.2' pins that version,
        '>=1.4,<2' or '1.4.*' are Conda version specs, '' means any version.
    channels : List[str], default []
        Additional Conda channels to search, first ones first.
    pip_packages : Dict[str, str], default {}
        PyPI packages installed on top of the Conda ones: name to version ('2.31' pins it,
        '>=2.31' is a range, '' any).
    pip_sources : List[str], default []
        Additional PyPI indices (extra index URLs).
    python : str, optional, default None
        Python version, e.g. '3.10' (the 3.10 series) or '>=3.9,<3.12'. By default, the
        version of the interpreter running the flow.
    name : str, optional, default None
        Use the named environment `name[:tag]` as it is (only `fetch_at_exec` can go with it).
        `@{VAR}` is replaced by an environment variable.
    pathspec : str, optional, default None
        Use the environment the step `Flow/run_id/step` ran in (only `fetch_at_exec` can go
        with it).
    fetch_at_exec : bool, default False
        Look `name` or `pathspec` up when the task starts rather than when the flow starts.
    no_pypi : bool, default False
        If True, no PyPI package at all: what Metaflow needs in a task comes from Conda too,
        and PyPI packages asked for the step are an error.
    disabled : bool, optional, default None
        If True, run this step in the Python running the flow.
    packages : Dict[str, str], default {}
        Same as `libraries` (the spelling of Metaflow's built-in @conda).
    """

    name = "conda"
    family = FAMILY_CONDA
    defaults = defaults_for(FAMILY_CONDA)


class PypiStepDecorator(EnvStepDecoratorBase):
    """
    Specifies the PyPI packages of the step.

    Adds to what `@pypi_base` / `@conda_base` set for the whole flow (the step's version wins
    for a package both name), or extends the environment named by `@named_env_base`. With a
    `@conda` on the same step, both make one environment.

    Parameters
    ----------
    packages : Dict[str, str], default {}
        PyPI packages: name (extras allowed, `requests[socks]`) to version. '2.31' pins that
        version, '>=2.31,<3' is a range, a URL ('git+https://...') installs from there, ''
        means any version.
    extra_indices : List[str], default []
        Additional PyPI indices (extra index URLs).
    extras : List[str], default []
        Extra resolver arguments: "pre" allows pre-release versions; "only-binary=NAMES",
        "no-binary=NAMES" and "index-strategy=STRATEGY" are pip's and uv's options of those
        names. Others are refused, naming why.
    conda_only : Dict[str, str], default {}
        Non-Python Conda packages (e.g. {"ffmpeg": ""}) added to this PyPI environment,
        name (or `channel::name`) to version.
    python : str, optional, default None
        Python version, e.g. '3.10' (the 3.10 series) or '>=3.9,<3.12'. By default, the
        version of the interpreter running the flow.
    name : str, optional, default None
        Use the named environment `name[:tag]` as it is (only `fetch_at_exec` can go with it).
    pathspec : str, optional, default None
        Use the environment the step `Flow/run_id/step` ran in.
    fetch_at_exec : bool, default False
        Look `name` or `pathspec` up when the task starts rather than when the flow starts.
    disabled : bool, optional, default None
        If True, run this step in the Python running the flow.
    sources : List[str], default []
        Same as `extra_indices` (older spelling).
    """

    name = "pypi"
    family = FAMILY_PYPI
    defaults = defaults_for(FAMILY_PYPI)


class PipStepDecorator(PypiStepDecorator):
    """
    Same as `@pypi` (older name).

    Parameters
    ----------
    packages : Dict[str, str], default {}
        PyPI packages: name to version ('2.31' pins it, '>=2.31' is a range, '' any).
    extra_indices : List[str], default []
        Additional PyPI indices (extra index URLs).
    extras : List[str], default []
        Extra resolver arguments: "pre" allows pre-release versions; "only-binary=NAMES",
        "no-binary=NAMES" and "index-strategy=STRATEGY" are pip's and uv's options of those
        names. Others are refused, naming why.
    conda_only : Dict[str, str], default {}
        Non-Python Conda packages (e.g. {"ffmpeg": ""}) added to this PyPI environment,
        name (or `channel::name`) to version.
    python : str, optional, default None
        Python version, e.g. '3.10'.
    name : str, optional, default None
        Use the named environment `name[:tag]` as it is.
    pathspec : str, optional, default None
        Use the environment the step `Flow/run_id/step` ran in.
    fetch_at_exec : bool, default False
        Look `name` or `pathspec` up when the task starts.
    disabled : bool, optional, default None
        If True, run this step in the Python running the flow.
    sources : List[str], default []
        Same as `extra_indices`.
    """

    name = "pip"


class NamedEnvStepDecorator(EnvStepDecoratorBase):
    """
    Runs the step in an existing environment: a named one or the one another step ran in.

    With a `@conda` or `@pypi` on the same step, their packages are added to it.

    Parameters
    ----------
    name : str, optional, default None
        The environment `name[:tag]` (e.g. 'team/env:stable'; tag 'latest' by default).
        `@{VAR}` is replaced by an environment variable.
    pathspec : str, optional, default None
        The environment the step `Flow/run_id/step` ran in.
    fetch_at_exec : bool, default False
        Look the environment up when the task starts (then `@{METAFLOW_RUN_ID}`,
        `@{METAFLOW_INIT_<PARAM>}`... can be used) rather than when the flow starts.
    """

    name = "named_env"
    family = FAMILY_NAMED
    defaults = defaults_for(FAMILY_NAMED)


# --------------------------------------------------------------------------------------
# Flow decorators


class CondaFlowDecorator(EnvFlowDecoratorBase):
    """
    Specifies the Conda (and optionally PyPI) packages of every step of the flow.

    A step's `@conda` adds to these (its version wins for a package both name).

    Parameters
    ----------
    libraries : Dict[str, str], default {}
        Conda packages: name (or `channel::name`) to version ('1.4.2' pins it, '>=1.4' is a
        range, '' any).
    channels : List[str], default []
        Additional Conda channels to search.
    pip_packages : Dict[str, str], default {}
        PyPI packages installed on top of the Conda ones.
    pip_sources : List[str], default []
        Additional PyPI indices.
    python : str, optional, default None
        Python version, e.g. '3.10' (the 3.10 series).
    name : str, optional, default None
        Use the named environment `name[:tag]` for every step.
    pathspec : str, optional, default None
        Use the environment the step `Flow/run_id/step` ran in for every step.
    fetch_at_exec : bool, default False
        Look `name` or `pathspec` up when each task starts.
    no_pypi : bool, default False
        If True, no PyPI package at all: what Metaflow needs in a task comes from Conda too,
        and PyPI packages asked for the step are an error.
    disabled : bool, optional, default None
        If True, steps run in the Python running the flow unless their own decorator sets
        something.
    packages : Dict[str, str], default {}
        Same as `libraries`.
    """

    name = "conda_base"
    family = FAMILY_CONDA
    defaults = defaults_for(FAMILY_CONDA)


class PypiFlowDecorator(EnvFlowDecoratorBase):
    """
    Specifies the PyPI packages of every step of the flow.

    A step's `@pypi` adds to these (its version wins for a package both name).

    Parameters
    ----------
    packages : Dict[str, str], default {}
        PyPI packages: name to version ('2.31' pins it, '>=2.31' is a range, '' any).
    extra_indices : List[str], default []
        Additional PyPI indices.
    extras : List[str], default []
        Extra resolver arguments: "pre" allows pre-release versions; "only-binary=NAMES",
        "no-binary=NAMES" and "index-strategy=STRATEGY" are pip's and uv's options of those
        names. Others are refused, naming why.
    conda_only : Dict[str, str], default {}
        Non-Python Conda packages (e.g. {"ffmpeg": ""}) added to this PyPI environment,
        name (or `channel::name`) to version.
    python : str, optional, default None
        Python version, e.g. '3.10' (the 3.10 series).
    name : str, optional, default None
        Use the named environment `name[:tag]` for every step.
    pathspec : str, optional, default None
        Use the environment the step `Flow/run_id/step` ran in for every step.
    fetch_at_exec : bool, default False
        Look `name` or `pathspec` up when each task starts.
    disabled : bool, optional, default None
        If True, steps run in the Python running the flow unless their own decorator sets
        something.
    sources : List[str], default []
        Same as `extra_indices`.
    """

    name = "pypi_base"
    family = FAMILY_PYPI
    defaults = defaults_for(FAMILY_PYPI)


class PipFlowDecorator(PypiFlowDecorator):
    """
    Same as `@pypi_base` (older name).

    Parameters
    ----------
    packages : Dict[str, str], default {}
        PyPI packages: name to version.
    extra_indices : List[str], default []
        Additional PyPI indices.
    extras : List[str], default []
        Extra resolver arguments: "pre" allows pre-release versions; "only-binary=NAMES",
        "no-binary=NAMES" and "index-strategy=STRATEGY" are pip's and uv's options of those
        names. Others are refused, naming why.
    conda_only : Dict[str, str], default {}
        Non-Python Conda packages (e.g. {"ffmpeg": ""}) added to this PyPI environment,
        name (or `channel::name`) to version.
    python : str, optional, default None
        Python version, e.g. '3.10'.
    name : str, optional, default None
        Use the named environment `name[:tag]` for every step.
    pathspec : str, optional, default None
        Use the environment the step `Flow/run_id/step` ran in for every step.
    fetch_at_exec : bool, default False
        Look `name` or `pathspec` up when each task starts.
    disabled : bool, optional, default None
        If True, steps run in the Python running the flow.
    sources : List[str], default []
        Same as `extra_indices`.
    """

    name = "pip_base"


class NamedEnvFlowDecorator(EnvFlowDecoratorBase):
    """
    Runs every step in an existing environment; a step's `@conda`/`@pypi` adds packages
    to it for that step.

    Parameters
    ----------
    name : str, optional, default None
        The environment `name[:tag]` (e.g. 'team/env:stable').
    pathspec : str, optional, default None
        The environment the step `Flow/run_id/step` ran in.
    fetch_at_exec : bool, default False
        Look the environment up when each task starts.
    """

    name = "named_env_base"
    family = FAMILY_NAMED
    defaults = defaults_for(FAMILY_NAMED)


STEP_DECORATORS = (CondaStepDecorator, PypiStepDecorator, PipStepDecorator, NamedEnvStepDecorator)
FLOW_DECORATORS = (CondaFlowDecorator, PypiFlowDecorator, PipFlowDecorator, NamedEnvFlowDecorator)


# --------------------------------------------------------------------------------------
# From Metaflow objects to the pure rules


def check_attributes(deco: RecordsUnknownAttributes, where: str) -> None:
    """Report the attributes the decorator was given but does not know (see unknown_attributes)."""
    message = deco.unknown_attribute_message(where)
    if message:
        raise InvalidEnvRequest(message)


def family_of(deco: Any) -> Optional[str]:
    """"conda", "pypi" or "named_env" for our decorators and their subclasses, else None."""
    for family, classes in (
        (FAMILY_CONDA, (CondaStepDecorator, CondaFlowDecorator)),
        (FAMILY_PYPI, (PypiStepDecorator, PypiFlowDecorator)),
        (FAMILY_NAMED, (NamedEnvStepDecorator, NamedEnvFlowDecorator)),
    ):
        if isinstance(deco, classes):
            return family
    return None


def decorator_attrs(deco: Any) -> DecoratorAttrs:
    """One Metaflow decorator as the rules see it (only the attributes of its family: a
    subclass may add its own)."""
    family = family_of(deco)
    if family is None:
        raise TypeError("%r is not an environment decorator" % (deco,))
    known = defaults_for(family)
    attrs: Dict[str, Any] = {k: deco.attributes.get(k, v) for k, v in known.items()}
    user_set = getattr(deco, "_user_defined_attributes", None)
    if user_set is None:
        # Metaflow versions without user-attribute tracking: what differs from the default.
        user_set = {k for k, v in attrs.items() if v != known[k]}
    return DecoratorAttrs("@" + deco.name, family, attrs, frozenset(k for k in user_set if k in known))


def _env_decorators(decos: Iterable[Any]) -> List[DecoratorAttrs]:
    return [decorator_attrs(d) for d in decos if family_of(d) is not None and not _is_attached(d)]


def _flow_env_decorators(flow: Any) -> List[DecoratorAttrs]:
    flow_decos = getattr(flow, "_flow_decorators", None) or {}
    return [decorator_attrs(d) for decos in flow_decos.values() for d in decos if family_of(d) is not None]


def _is_attached(deco: Any) -> bool:
    """The bare @conda the environment attaches to every step (for its runtime hooks):
    nobody wrote it and it carries no attribute."""
    return not getattr(deco, "statically_defined", True) and not decorator_attrs(deco).user_set


def in_task_process() -> bool:
    """True in a process running a task (`step`, `init` commands): the launcher validated
    the requests already, and the task's Python may lack the rules' dependencies."""
    if task_launch.in_environment_task():
        return True
    from metaflow._vendor import click

    # Metaflow initialises decorators in its top-level group, before entering the command:
    # the command is the context's invoked subcommand (or the first of its saved args).
    task_commands = {"step", "init", "spin-step"}
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        saved = getattr(ctx, "saved_args", None) or [None]
        if task_commands & {ctx.info_name, ctx.invoked_subcommand, saved[0]}:
            return True
        ctx = ctx.parent
    return False


def step_request(flow: Any, step_name: str, step_decorators: Sequence[Any] = ()
                 ) -> Optional["StepEnvRequest"]:
    """The request of a step from the flow's decorators and the step's own (None when
    neither has an environment decorator). Also for steps without a step decorator, which
    get the flow-level request. Mistakes raise InvalidEnvRequest."""
    from .decorator_rules import request_for_step
    from .sys_packages import with_sys_packages

    try:
        request = request_for_step(step_name, _flow_env_decorators(flow), _env_decorators(step_decorators))
        return with_sys_packages(request, flow, step_name, step_decorators)
    except SpecError as err:
        raise metaflow_error(err, request=True) from None
