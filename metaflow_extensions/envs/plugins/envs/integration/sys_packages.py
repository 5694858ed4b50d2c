"""@sys_packages / @sys_packages_base: the virtual packages (`__cuda`, `__glibc`...) the
machines running a step provide, and the GPU defaults of steps asking for a GPU.

A step's environment is resolved against, per name, the step's @sys_packages over the flow's
@sys_packages_base over METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES (only when the step asks for a
GPU: `gpu` > 0 on its @resources, @kubernetes or @batch) over
METAFLOW_CONDA_SYS_DEFAULT_PACKAGES (applied at resolution, resolve/platforms.py). The
declarations join the step's EnvSpec (`with_sys_packages`, called where the step's request is
built), so they take part in its req_id.

Engine imports stay inside functions: the decorator classes are loaded in task processes.
"""
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Tuple

from metaflow.decorators import FlowDecorator, StepDecorator

from .decorators import InvalidEnvRequest, check_attributes, in_task_process
from .unknown_attributes import RecordsUnknownAttributes

if TYPE_CHECKING:
    from ..spec.model import SysPackages
    from .decorator_rules import StepEnvRequest


def _needs_env_type(environment: Any, where: str) -> None:
    if getattr(environment, "TYPE", None) not in ("conda", "pypi"):
        raise InvalidEnvRequest(
            "%s declares what the machines of a Conda or PyPI environment provide: run the flow with "
            "--environment=conda, e.g. `python flow.py --environment=conda run`." % where)


class SysPackagesStepDecorator(RecordsUnknownAttributes, StepDecorator):
    """
    Declares the virtual packages the machines running the step provide (a CUDA driver, the
    C library...): its Conda environment is resolved against them.

    Wins over `@sys_packages_base` and over the GPU defaults for a name both declare. Needs
    `@conda` or `@pypi` on the step or the flow.

    Parameters
    ----------
    packages : Dict[str, str], default {}
        Virtual package name (`__cuda`, `__glibc`, `__linux`, `__osx`, `__unix`, `__archspec`) to
        the one version the machines provide, e.g. {"__cuda": "12.4", "__glibc": "2.28"}; a
        build may follow ("12.4=0").
    """

    name = "sys_packages"
    defaults = {"packages": {}}

    def step_init(self, flow: Any, graph: Any, step_name: str, decorators: List[StepDecorator],
                  environment: Any, flow_datastore: Any, logger: Callable[..., None]) -> None:
        if not in_task_process():
            check_attributes(self, "@sys_packages on step '%s'" % step_name)
            _needs_env_type(environment, "@sys_packages on step '%s'" % step_name)


class SysPackagesFlowDecorator(RecordsUnknownAttributes, FlowDecorator):
    """
    Declares the virtual packages the machines running every step provide; a step's
    `@sys_packages` wins for a name both declare.

    Parameters
    ----------
    packages : Dict[str, str], default {}
        Virtual package name (`__cuda`, `__glibc`, `__linux`, `__osx`, `__unix`, `__archspec`) to
        the one version the machines provide, e.g. {"__cuda": "12.4"}.
    """

    name = "sys_packages_base"
    defaults = {"packages": {}}

    def flow_init(self, flow: Any, graph: Any, environment: Any, flow_datastore: Any,
                  metadata: Any, logger: Any, echo: Any, options: Any) -> None:
        if not in_task_process():
            check_attributes(self, "@sys_packages_base")
            _needs_env_type(environment, "@sys_packages_base")
            declared("@sys_packages_base on the flow", [self])  # mistakes once, before any step


def declared(where: str, decorators: Iterable[Any]) -> "SysPackages":
    """What the @sys_packages(-like) `decorators` declare, checked."""
    from ..errors import SpecError
    from ..spec.model import check_sys_package, merge_sys_packages

    layers: List[Tuple[Tuple[str, str], ...]] = []
    for deco in decorators:
        packages = deco.attributes.get("packages") or {}
        if not isinstance(packages, dict):
            raise InvalidEnvRequest("%s: packages must be a dict such as packages={\"__cuda\": \"12.4\"} "
                                    "(got %r)." % (where, packages))
        try:
            layers.append(tuple(check_sys_package(k, v) for k, v in packages.items()))
        except SpecError as err:
            raise InvalidEnvRequest("%s: %s" % (where, err.message)) from None
    return merge_sys_packages(*layers)


def asks_for_gpu(decorators: Iterable[Any]) -> bool:
    """True when one of the step's @resources or remote decorators (@kubernetes, @batch...:
    METAFLOW_CONDA_REMOTE_COMMANDS) sets gpu > 0."""
    from .environment import remote_decorators

    gpu_decorators = remote_decorators() | {"resources"}
    for deco in decorators:
        if getattr(deco, "name", None) not in gpu_decorators:
            continue
        try:
            if float(deco.attributes.get("gpu") or 0) > 0:
                return True
        except (TypeError, ValueError):
            continue  # not a number: Metaflow's decorator says so itself
    return False


def with_sys_packages(request: Optional["StepEnvRequest"], flow: Any, step_name: str,
                      step_decorators: Iterable[Any]) -> Optional["StepEnvRequest"]:
    """`request` with the virtual packages the step's machines are declared to provide."""
    from dataclasses import replace

    from ..resolve.platforms import gpu_sys_packages
    from ..spec.model import merge_sys_packages

    step_decorators = list(step_decorators)
    mine = [d for d in step_decorators if isinstance(d, SysPackagesStepDecorator)]
    if request is None:
        if mine:
            raise InvalidEnvRequest("@sys_packages on step '%s' applies to its Conda or PyPI environment: "
                                    "add @conda or @pypi to the step (or @conda_base to the flow)." % step_name)
        return None
    if request.disabled or request.spec is None:
        return request  # the outer Python, or a named environment used as it was resolved
    flow_decos = [d for decos in (getattr(flow, "_flow_decorators", None) or {}).values() for d in decos
                  if isinstance(d, SysPackagesFlowDecorator)]
    gpu = gpu_sys_packages() if asks_for_gpu(step_decorators) else ()
    sys_packages = merge_sys_packages(gpu, declared("@sys_packages_base on the flow", flow_decos),
                                      declared("@sys_packages on step '%s'" % step_name, mine))
    return replace(request, spec=replace(request.spec, sys_packages=sys_packages))
