"""Example 03: @conda_base gives every step numpy on Python 3.10; one step adds scipy with
@conda, another requests with @pypi (a mixed environment: the base's numpy stays)."""
from metaflow import FlowSpec, conda, conda_base, pypi, step


@conda_base(libraries={"numpy": "1.26.4"}, python=">=3.10,<3.11")
class MixedFlow(FlowSpec):
    @step
    def start(self):
        import numpy

        assert numpy.__version__ == "1.26.4"
        print("start has numpy %s from @conda_base" % numpy.__version__)
        self.next(self.conda_step, self.pypi_step)

    @conda(libraries={"scipy": "1.11.4"})
    @step
    def conda_step(self):
        import numpy
        import scipy

        print("conda_step has numpy %s and scipy %s" % (numpy.__version__, scipy.__version__))
        self.next(self.join)

    @pypi(packages={"requests": "2.31.0"})
    @step
    def pypi_step(self):
        import requests

        print("pypi_step has requests %s" % requests.__version__)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        print("finished")


if __name__ == "__main__":
    MixedFlow()
