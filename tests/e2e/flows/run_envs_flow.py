"""A conda-only, a pypi-only and a mixed step in one flow; `end` has no environment."""
from metaflow import FlowSpec, conda, pypi, step

from run_probe import probe


class RunEnvsFlow(FlowSpec):
    @conda(libraries={"tinyutil": "1.1.0"})
    @step
    def start(self):
        self.probe = probe("tinyutil", "six", "requests")
        self.token = "made-in-start"
        self.next(self.pypi_step)

    @pypi(packages={"six": "1.16.0"})
    @step
    def pypi_step(self):
        self.probe = probe("six", "tinyutil")
        self.seen_token = self.token  # an artifact written by another environment
        self.next(self.mixed)

    @conda(libraries={"tinyutil": ""}, pip_packages={"six": ""})
    @step
    def mixed(self):
        self.probe = probe("tinyutil", "six")
        self.seen_token = self.token
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("tinyutil", "six")


if __name__ == "__main__":
    RunEnvsFlow()
