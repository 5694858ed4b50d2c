"""@pypi_base on the flow, a step's @conda adding Conda packages to it, and a step's
@pypi(conda_only=...) adding a non-Python Conda package (the reference's ffmpeg example)."""
from metaflow import FlowSpec, conda, pypi, pypi_base, step

from run_probe import probe


@pypi_base(packages={"pandas": "1.4.0"})
class RunMixedPypiBaseFlow(FlowSpec):
    @conda(libraries={"tinyutil": "2.0.0"})
    @step
    def start(self):
        self.probe = probe("tinyutil", "pandas")
        self.next(self.end)

    @pypi(conda_only={"ffmpeg": ""})
    @step
    def end(self):
        self.probe = probe("tinyutil", "pandas", tools=("ffmpeg",))


if __name__ == "__main__":
    RunMixedPypiBaseFlow()
