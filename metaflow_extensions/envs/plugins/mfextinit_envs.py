"""Registration of metaflow-envs with Metaflow: our decorators and environments replace the
built-in `conda`, `conda_base`, `pypi`, `pypi_base` and the `conda` / `pypi` / `uv` environments
(an extension's plugin of the same name as a core one takes its place); `sys_packages` /
`sys_packages_base` declare the virtual packages steps' machines provide."""
STEP_DECORATORS_DESC = [
    ("conda", ".envs.integration.decorators.CondaStepDecorator"),
    ("pypi", ".envs.integration.decorators.PypiStepDecorator"),
    ("pip", ".envs.integration.decorators.PipStepDecorator"),
    ("named_env", ".envs.integration.decorators.NamedEnvStepDecorator"),
    ("sys_packages", ".envs.integration.sys_packages.SysPackagesStepDecorator"),
]
FLOW_DECORATORS_DESC = [
    ("conda_base", ".envs.integration.decorators.CondaFlowDecorator"),
    ("pypi_base", ".envs.integration.decorators.PypiFlowDecorator"),
    ("pip_base", ".envs.integration.decorators.PipFlowDecorator"),
    ("named_env_base", ".envs.integration.decorators.NamedEnvFlowDecorator"),
    ("sys_packages_base", ".envs.integration.sys_packages.SysPackagesFlowDecorator"),
]
ENVIRONMENTS_DESC = [
    ("conda", ".envs.integration.environment.CondaEnvironment"),
    ("pypi", ".envs.integration.environment.PypiEnvironment"),
    ("uv", ".envs.integration.uv_environment.UvEnvironment"),
]
CLIS_DESC = [("environment", ".envs.integration.flow_cli.cli")]
# Runner(flow_file).environment().resolve()/.show(): see integration/runner.py
RUNNER_CLIS_DESC = [("environment", ".envs.integration.runner.EnvironmentRunner")]
