"""`start` runs in team/bare:v1, an environment made through the engine API with tinyutil
only — without `requests`, which Metaflow imports in every task: the run extends it."""
from metaflow import FlowSpec, named_env, step

from run_probe import probe


class RunNamedBareFlow(FlowSpec):
    @named_env(name="team/bare:v1")
    @step
    def start(self):
        self.probe = probe("tinyutil", "requests")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunNamedBareFlow()
