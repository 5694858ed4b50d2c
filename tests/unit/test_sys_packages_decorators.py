"""@sys_packages / @sys_packages_base and the GPU defaults, with real decorator objects
(ours and Metaflow's @resources/@kubernetes/@batch). The flow is a minimal stand-in holding
only `_flow_decorators` (as in test_decorators.py), and the environment one holding only its
TYPE: the rules read nothing else of them. Whole flows: tests/e2e/test_local_flows.py."""
import types

import metaflow  # noqa: F401  first: Metaflow's plugin loading imports our decorator modules
import pytest
from metaflow.plugins.aws.batch.batch_decorator import BatchDecorator
from metaflow.plugins.kubernetes.kubernetes_decorator import KubernetesDecorator
from metaflow.plugins.resources_decorator import ResourcesDecorator

from metaflow_extensions.envs.plugins.envs.integration.decorators import (
    CondaFlowDecorator,
    CondaStepDecorator,
    InvalidEnvRequest,
    NamedEnvStepDecorator,
    step_request,
)
from metaflow_extensions.envs.plugins.envs.integration.sys_packages import (
    SysPackagesFlowDecorator,
    SysPackagesStepDecorator,
    asks_for_gpu,
)

_CONDA_ENV = types.SimpleNamespace(TYPE="conda")
_LOCAL_ENV = types.SimpleNamespace(TYPE="local")


@pytest.fixture(autouse=True)
def _no_configured_defaults(monkeypatch):
    monkeypatch.delenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", raising=False)


def _flow(*decos):
    grouped = {}
    for deco in decos:
        grouped.setdefault(deco.name, []).append(deco)
    return types.SimpleNamespace(_flow_decorators=grouped)


def _conda():
    return CondaStepDecorator(attributes={"libraries": {"needscuda": ""}})


def _declared(flow, *step_decos):
    return step_request(flow, "train", list(step_decos)).spec.sys_packages


def test_a_step_asking_for_a_gpu_gets_the_gpu_defaults():
    assert _declared(_flow(), _conda(), ResourcesDecorator(attributes={"gpu": 1})) == (("__cuda", "12.4"),)
    assert _declared(_flow(), _conda()) == ()  # no GPU asked: nothing declared


@pytest.mark.parametrize("deco, expected", [
    (ResourcesDecorator(attributes={"gpu": 1}), True),
    (KubernetesDecorator(attributes={"gpu": "2"}), True),  # `--with kubernetes:gpu=2` gives text
    (BatchDecorator(attributes={"gpu": 1}), True),
    (ResourcesDecorator(attributes={"gpu": 0}), False),
    (KubernetesDecorator(attributes={}), False),
    (ResourcesDecorator(attributes={"gpu": "many"}), False),
])
def test_gpu_detection(deco, expected):
    assert asks_for_gpu([deco]) is expected


def test_step_over_flow_over_gpu_defaults(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", '{"__cuda": "11.8", "__glibc": "2.17"}')
    flow = _flow(CondaFlowDecorator(attributes={}),
                 SysPackagesFlowDecorator(attributes={"packages": {"__cuda": "12.4", "__glibc": "2.28"}}))
    gpu = ResourcesDecorator(attributes={"gpu": 1})
    assert _declared(flow, _conda(), gpu) == (("__cuda", "12.4"), ("__glibc", "2.28"))
    step = SysPackagesStepDecorator(attributes={"packages": {"__cuda": "12.8"}})
    assert _declared(flow, _conda(), gpu, step) == (("__cuda", "12.8"), ("__glibc", "2.28"))
    # and they are part of the request, so of its req_id
    plain = step_request(flow, "train", [_conda()]).spec
    assert step_request(flow, "train", [_conda(), step]).spec.req_id != plain.req_id


@pytest.mark.parametrize("packages, message", [
    ({"__gpu": "1"}, r"@sys_packages on step 'train': Unknown system package '__gpu'"),
    ({"__cuda": ">=12"}, r"@sys_packages on step 'train': System package __cuda needs"),
    ("__cuda==12.4", r"@sys_packages on step 'train': packages must be a dict such as"),
])
def test_bad_step_declarations(packages, message):
    with pytest.raises(InvalidEnvRequest, match=message):
        step_request(_flow(), "train", [_conda(), SysPackagesStepDecorator(attributes={"packages": packages})])


def test_bad_flow_declaration_is_reported_by_the_flow_decorator():
    deco = SysPackagesFlowDecorator(attributes={"packages": {"__cuda": "twelve"}})
    with pytest.raises(InvalidEnvRequest, match="@sys_packages_base on the flow: System package __cuda"):
        deco.flow_init(None, None, _CONDA_ENV, None, None, None, None, {})


def test_a_malformed_gpu_setting_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", "cuda 12")
    with pytest.raises(InvalidEnvRequest, match="METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES must be a JSON object"):
        step_request(_flow(), "train", [_conda(), ResourcesDecorator(attributes={"gpu": 1})])


def test_sys_packages_without_an_environment_decorator_is_refused():
    with pytest.raises(InvalidEnvRequest, match="add @conda or @pypi to the step"):
        step_request(_flow(), "train", [SysPackagesStepDecorator(attributes={"packages": {"__cuda": "12.4"}})])


def test_a_named_environment_is_used_as_it_was_resolved():
    named = NamedEnvStepDecorator(attributes={"name": "team/env"})
    request = step_request(_flow(), "train", [named, ResourcesDecorator(attributes={"gpu": 1})])
    assert request.spec is None and request.base == "team/env"


def test_without_the_conda_environment_the_decorators_say_what_to_run():
    step = SysPackagesStepDecorator(attributes={"packages": {"__cuda": "12.4"}})
    with pytest.raises(InvalidEnvRequest, match="--environment=conda"):
        step.step_init(None, None, "train", [step], _LOCAL_ENV, None, print)
    flow = SysPackagesFlowDecorator(attributes={"packages": {"__cuda": "12.4"}})
    with pytest.raises(InvalidEnvRequest, match="--environment=conda"):
        flow.flow_init(None, None, _LOCAL_ENV, None, None, None, None, {})
