"""A version written as a number (1.10 would become 1.1)."""
# expect-error: the version of 'numpy' in libraries must be a string
from metaflow import FlowSpec, conda, step


class DecoratorBadVersionFlow(FlowSpec):
    @conda(libraries={"numpy": 1.26})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorBadVersionFlow()
