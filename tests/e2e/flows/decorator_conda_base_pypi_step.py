"""@conda_base on the flow with @pypi on a step."""
# expect-error: write the step's packages as @conda(pip_packages={...})
from metaflow import FlowSpec, conda_base, pypi, step


@conda_base(libraries={"numpy": ""})
class DecoratorCondaBasePypiStepFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @pypi(packages={"requests": ""})
    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorCondaBasePypiStepFlow()
