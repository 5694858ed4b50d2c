"""A step whose PyPI package has no wheel for the glibc its machines declare (2.17), so it is
built from source when the flow's environments are resolved; the index is MFENVS_TEST_INDEX."""
import os

from metaflow import FlowSpec, pypi, step, sys_packages


class SourceBuildFlow(FlowSpec):
    @sys_packages(packages={"__glibc": "2.17"})
    @pypi(packages={"mfenvs-buildok": "1.0.0"}, extra_indices=[os.environ["MFENVS_TEST_INDEX"]])
    @step
    def start(self):
        import mfenvs_buildok

        print("built from source:", mfenvs_buildok.__version__)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SourceBuildFlow()
