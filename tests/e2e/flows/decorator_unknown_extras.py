"""@pypi(extras=...) with an extra that does not exist."""
# expect-error: @pypi on step 'start': unknown extras 'nightly': the accepted ones are 'pre'
from metaflow import FlowSpec, pypi, step


class DecoratorUnknownExtrasFlow(FlowSpec):
    @pypi(packages={"requests": ""}, extras=["nightly"])
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorUnknownExtrasFlow()
