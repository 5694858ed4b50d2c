"""Two steps whose environments both fail: the message names each step and its cause."""
from metaflow import FlowSpec, conda, step


class RunErrorTwoStepsFlow(FlowSpec):
    @conda(libraries={"mfenvs-no-such-package": ""})
    @step
    def start(self):
        self.next(self.end)

    @conda(libraries={"tinyutil": ""}, python="3.99")
    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunErrorTwoStepsFlow()
