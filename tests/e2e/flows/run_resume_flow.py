"""`middle` fails while MFENVS_E2E_FAIL=1 is set, so the run can be resumed."""
import os

from metaflow import FlowSpec, conda_base, step

from run_probe import probe


@conda_base(libraries={"tinyutil": "1.1.0"})
class RunResumeFlow(FlowSpec):
    @step
    def start(self):
        self.probe = probe("tinyutil")
        self.next(self.middle)

    @step
    def middle(self):
        if os.environ.get("MFENVS_E2E_FAIL") == "1":
            raise RuntimeError("middle fails on purpose (MFENVS_E2E_FAIL=1)")
        self.probe = probe("tinyutil")
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("tinyutil")


if __name__ == "__main__":
    RunResumeFlow()
