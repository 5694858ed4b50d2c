"""Run with --environment=uv from inside a uv project (tests/e2e/test_uv_environment.py
copies it there): no decorator, every step in the project's locked environment. `end` fails
while MFENVS_E2E_FAIL=1 is set, so the run can be resumed."""
import os

from metaflow import FlowSpec, step

from run_probe import probe

MODULES = ("mfenvs_alpha", "mfenvs_beta", "mfenvs_otherdep", "requests")


class UvProjectFlow(FlowSpec):
    @step
    def start(self):
        self.probe = probe(*MODULES)
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("MFENVS_E2E_FAIL") == "1":
            raise RuntimeError("end fails on purpose (MFENVS_E2E_FAIL=1)")
        self.probe = probe(*MODULES)


if __name__ == "__main__":
    UvProjectFlow()
