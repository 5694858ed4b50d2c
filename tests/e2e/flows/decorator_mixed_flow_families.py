"""@conda_base and @pypi_base on the same flow: one mixed environment for every step."""
# expect: ok
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
