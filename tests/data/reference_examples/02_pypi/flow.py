"""Example 02: every step asks @pypi for its own pandas, on Python >=3.9,<3.10."""
from metaflow import FlowSpec, pypi, step


class PypiFlow(FlowSpec):
    @pypi(packages={"pandas": "1.4.0"}, python=">=3.9,<3.10")
    @step
    def start(self):
        import pandas

        assert pandas.__version__ == "1.4.0"
        print("start has pandas %s" % pandas.__version__)
        self.next(self.end)

    @pypi(packages={"pandas": "1.5.0"}, python=">=3.9,<3.10")
    @step
    def end(self):
        import pandas

        assert pandas.__version__ == "1.5.0"
        print("end has pandas %s" % pandas.__version__)


if __name__ == "__main__":
    PypiFlow()
