"""@pypi_base on the flow with @conda on a step."""
# expect-error: Step 'start' uses @conda but the flow uses @pypi_base
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
