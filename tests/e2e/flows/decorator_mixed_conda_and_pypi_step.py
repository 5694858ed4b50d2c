"""@conda and @pypi on the same step: one mixed environment."""
# expect: ok
from metaflow import FlowSpec, conda, pypi, step


class DecoratorCondaAndPypiStepFlow(FlowSpec):
    @conda(libraries={"numpy": ""})
    @pypi(packages={"requests": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorCondaAndPypiStepFlow()
