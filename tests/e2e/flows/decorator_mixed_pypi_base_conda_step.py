"""@pypi_base on the flow with @conda on a step: one mixed environment."""
# expect: ok
from metaflow import FlowSpec, conda, pypi_base, step


@pypi_base(packages={"requests": ""})
class DecoratorPypiBaseCondaStepFlow(FlowSpec):
    @conda(libraries={"numpy": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorPypiBaseCondaStepFlow()
