"""@pypi_base on the flow, a step's @conda adding Conda packages to it."""
from metaflow import FlowSpec, conda, pypi_base, step

from run_probe import probe


@pypi_base(packages={"pandas": "1.4.0"})
class RunMixedPypiBaseFlow(FlowSpec):
    @conda(libraries={"tinyutil": "2.0.0"})
    @step
    def start(self):
        self.probe = probe("tinyutil", "pandas")
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("tinyutil", "pandas")


if __name__ == "__main__":
    RunMixedPypiBaseFlow()
