"""A disabled @pypi_base, enabled again on one step."""
# expect: ok
from metaflow import FlowSpec, pypi, pypi_base, step


@pypi_base(packages={"requests": ""}, disabled=True)
class DecoratorDisabledOkFlow(FlowSpec):
    @pypi(python="3.11")
    @step
    def start(self):
        self.next(self.end)

    @pypi(disabled=True)
    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorDisabledOkFlow()
