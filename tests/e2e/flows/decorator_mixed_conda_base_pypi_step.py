"""@conda_base on the flow with @pypi on a step: one mixed environment."""
# expect: ok
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
