"""@conda_base and @pypi_base on the same flow."""
# expect-error: The flow has
from metaflow import FlowSpec, conda_base, pypi_base, step


@conda_base(libraries={"numpy": ""})
@pypi_base(packages={"requests": ""})
class DecoratorTwoFlowFamiliesFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorTwoFlowFamiliesFlow()
