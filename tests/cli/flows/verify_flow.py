"""A step whose environment resolves but does not import (mfenvs-brokenpair with otherdep 2),
from the test index named by MFENVS_TEST_INDEX."""
import os

from metaflow import FlowSpec, pypi, step


class VerifyFlow(FlowSpec):
    @pypi(packages={"mfenvs-brokenpair": "1.0.0"}, extra_indices=[os.environ["MFENVS_TEST_INDEX"]])
    @step
    def start(self):
        print("the start task ran")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    VerifyFlow()
