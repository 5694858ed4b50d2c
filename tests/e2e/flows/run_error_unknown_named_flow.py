"""A step names an environment nobody aliased: the run stops before any task with one
clear message naming it."""
from metaflow import FlowSpec, named_env, step


class RunErrorUnknownNamedFlow(FlowSpec):
    @named_env(name="team/does-not-exist:v1")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunErrorUnknownNamedFlow()
