"""A foreach over three items whose body and join run in a Conda environment."""
import sys

from metaflow import FlowSpec, conda, step

from run_probe import probe


class RunForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.square, foreach="items")

    @conda(libraries={"tinyutil": "1.1.0"})
    @step
    def square(self):
        import tinyutil

        self.result = {"item": self.input, "square": self.input ** 2, "tinyutil": tinyutil.__version__,
                       "executable": sys.executable}
        self.next(self.join)

    @conda(libraries={"tinyutil": "1.1.0"})
    @step
    def join(self, inputs):
        self.results = sorted((i.result for i in inputs), key=lambda r: r["item"])
        self.probe = probe("tinyutil")
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(r["square"] for r in self.results)


if __name__ == "__main__":
    RunForeachFlow()
