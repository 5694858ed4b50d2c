"""@conda and @pypi on one step asking for different Pythons."""
# expect-error: @conda on step 'start' asks for python='3.10' but @pypi on step 'start' for python='3.11'
from metaflow import FlowSpec, conda, pypi, step


class DecoratorMixedPythonConflictFlow(FlowSpec):
    @conda(libraries={"numpy": ""}, python="3.10")
    @pypi(packages={"requests": ""}, python="3.11")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorMixedPythonConflictFlow()
