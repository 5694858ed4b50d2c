"""A step asking for the full version of the Python running the flow (`3.11.7`, not a series)."""
import platform

from metaflow import FlowSpec, pypi, step


class ExactPythonFlow(FlowSpec):
    @pypi(python=platform.python_version(), packages={"six": "1.16.0"})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ExactPythonFlow()
