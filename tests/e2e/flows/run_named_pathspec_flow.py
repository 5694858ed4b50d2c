"""`start` runs in the environment another run's step ran in: the pathspec comes from
MFENVS_E2E_BASE_PATHSPEC (the test sets it to `RunNamedFlow/<run_id>/start`)."""
import os

from metaflow import FlowSpec, named_env, step

from run_probe import probe


class RunNamedPathspecFlow(FlowSpec):
    @named_env(pathspec=os.environ.get("MFENVS_E2E_BASE_PATHSPEC", "RunNamedFlow/0/start"))
    @step
    def start(self):
        self.probe = probe("tinyutil")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunNamedPathspecFlow()
