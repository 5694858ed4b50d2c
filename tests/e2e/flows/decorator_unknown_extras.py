"""@pypi(extras=...) with an extra that does not exist and one uv cannot honour."""
# expect-error: @pypi on step 'start', extras: 'nightly' is not an extra uv can honour; '--no-build-isolation' cannot be honoured here
from metaflow import FlowSpec, pypi, step


class DecoratorUnknownExtrasFlow(FlowSpec):
    @pypi(packages={"requests": ""}, extras=["nightly", "--no-build-isolation"])
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorUnknownExtrasFlow()
