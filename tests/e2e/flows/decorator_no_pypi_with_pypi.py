"""no_pypi=True on @conda_base with a step asking for PyPI packages."""
# expect-error: @conda_base on the flow sets no_pypi=True, but @pypi on step 'end' asks for PyPI packages (requests)
from metaflow import FlowSpec, conda_base, pypi, step


@conda_base(libraries={"numpy": ""}, no_pypi=True)
class DecoratorNoPypiWithPypiFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @pypi(packages={"requests": ""})
    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorNoPypiWithPypiFlow()
