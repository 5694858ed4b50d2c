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
from ..kinds import Family
from .attributes import DecoratorAttrs, decorator_doc, defaults_for
from .metaflow_errors import InvalidEnvRequest, metaflow_error
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
    __doc__ = decorator_doc("""
    Specifies the Conda (and optionally PyPI) packages of the step.

    Adds to what `@conda_base` / `@pypi_base` set for the whole flow (the step's version wins
    for a package both name), or extends the environment named by `@named_env_base`. With a
    `@pypi` on the same step, both make one environment.
    """, Family.CONDA)

    name = "conda"
    family = Family.CONDA
    defaults = defaults_for(Family.CONDA)


class PypiStepDecorator(EnvStepDecoratorBase):
    __doc__ = decorator_doc("""
    Specifies the PyPI packages of the step.

    Adds to what `@pypi_base` / `@conda_base` set for the whole flow (the step's version wins
    for a package both name), or extends the environment named by `@named_env_base`. With a
    `@conda` on the same step, both make one environment.
    """, Family.PYPI)

    name = "pypi"
    family = Family.PYPI
    defaults = defaults_for(Family.PYPI)


class PipStepDecorator(PypiStepDecorator):
    __doc__ = decorator_doc("""
    Same as `@pypi` (older name).
    """, Family.PYPI)

    name = "pip"


class NamedEnvStepDecorator(EnvStepDecoratorBase):
    __doc__ = decorator_doc("""
    Runs the step in an existing environment: a named one or the one another step ran in.

    With a `@conda` or `@pypi` on the same step, their packages are added to it.
    """, Family.NAMED)

    name = "named_env"
    family = Family.NAMED
    defaults = defaults_for(Family.NAMED)


# --------------------------------------------------------------------------------------
# Flow decorators


class CondaFlowDecorator(EnvFlowDecoratorBase):
    __doc__ = decorator_doc("""
    Specifies the Conda (and optionally PyPI) packages of every step of the flow.

    A step's `@conda` adds to these (its version wins for a package both name).
    """, Family.CONDA)

    name = "conda_base"
    family = Family.CONDA
    defaults = defaults_for(Family.CONDA)


class PypiFlowDecorator(EnvFlowDecoratorBase):
    __doc__ = decorator_doc("""
    Specifies the PyPI packages of every step of the flow.

    A step's `@pypi` adds to these (its version wins for a package both name).
    """, Family.PYPI)

    name = "pypi_base"
    family = Family.PYPI
    defaults = defaults_for(Family.PYPI)


class PipFlowDecorator(PypiFlowDecorator):
    __doc__ = decorator_doc("""
    Same as `@pypi_base` (older name).
    """, Family.PYPI)

    name = "pip_base"


class NamedEnvFlowDecorator(EnvFlowDecoratorBase):
    __doc__ = decorator_doc("""
    Runs every step in an existing environment; a step's `@conda`/`@pypi` adds packages
    to it for that step.
    """, Family.NAMED)

    name = "named_env_base"
    family = Family.NAMED
    defaults = defaults_for(Family.NAMED)


STEP_DECORATORS = (CondaStepDecorator, PypiStepDecorator, PipStepDecorator, NamedEnvStepDecorator)
FLOW_DECORATORS = (CondaFlowDecorator, PypiFlowDecorator, PipFlowDecorator, NamedEnvFlowDecorator)


# --------------------------------------------------------------------------------------
# From Metaflow objects to the pure rules


def check_attributes(deco: RecordsUnknownAttributes, where: str) -> None:
    """Report the attributes the decorator was given but does not know (see unknown_attributes)."""
    message = deco.unknown_attribute_message(where)
    if message:
        raise InvalidEnvRequest(message)


def family_of(deco: Any) -> Optional[Family]:
    """The family of our decorators and their subclasses and their subclasses, else None."""
    for family, classes in (
        (Family.CONDA, (CondaStepDecorator, CondaFlowDecorator)),
        (Family.PYPI, (PypiStepDecorator, PypiFlowDecorator)),
        (Family.NAMED, (NamedEnvStepDecorator, NamedEnvFlowDecorator)),
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
