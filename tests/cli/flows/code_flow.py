"""A one-environment flow whose run keeps a code package (for `create --into-dir`)."""
from metaflow import FlowSpec, conda, step


class CodeFlow(FlowSpec):
    @conda(libraries={"tinyutil": "1.1.0"})
    @step
    def start(self):
        import tinyutil

        self.version = tinyutil.__version__
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CodeFlow()
