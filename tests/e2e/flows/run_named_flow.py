"""`start` runs in the named environment team/tiny:v1 (created by the test)."""
from metaflow import FlowSpec, named_env, step

from run_probe import probe


class RunNamedFlow(FlowSpec):
    @named_env(name="team/tiny:v1")
    @step
    def start(self):
        self.probe = probe("tinyutil")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunNamedFlow()
