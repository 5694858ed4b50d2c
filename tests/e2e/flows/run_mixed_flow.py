"""Mixing: @conda and @pypi on one step, a step's @pypi on @conda_base, and no_pypi=True.
PyPI packages come from the reference examples' index (METAFLOW_CONDA_DEFAULT_PYPI_SOURCE)."""
from metaflow import FlowSpec, conda, conda_base, pypi, step

from run_probe import probe


@conda_base(libraries={"tinyutil": "1.0.0"})
class RunMixedFlow(FlowSpec):
    @conda(libraries={"chainc": ""})
    @pypi(packages={"pandas": "1.5.0"})
    @step
    def start(self):
        self.probe = probe("tinyutil", "chainc", "pandas", "requests")
        self.next(self.pypi_on_conda_base)

    @pypi(packages={"pandas": "1.4.0"})
    @step
    def pypi_on_conda_base(self):
        self.probe = probe("tinyutil", "chainc", "pandas")
        self.next(self.conda_only)

    @conda(libraries={"chainc": ""}, no_pypi=True)
    @step
    def conda_only(self):
        self.probe = probe("tinyutil", "chainc", "requests")
        self.next(self.end)

    @pypi(packages={"pandas": "1.4.0"}, disabled=True)
    @step
    def end(self):
        self.probe = probe("tinyutil", "pandas")


if __name__ == "__main__":
    RunMixedFlow()
