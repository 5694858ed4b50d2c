"""A Conda package no channel has: the message names it."""
from metaflow import FlowSpec, conda, step


class RunErrorUnknownPackageFlow(FlowSpec):
    @conda(libraries={"mfenvs-no-such-package": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunErrorUnknownPackageFlow()
