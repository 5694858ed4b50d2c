"""Example 06: an environment resolved once (`metaflow environment resolve --alias
examples/named_demo -f env.yml`) and named by both steps, which share it."""
from metaflow import FlowSpec, named_env, step


class NamedEnvFlow(FlowSpec):
    @named_env(name="examples/named_demo")
    @step
    def start(self):
        import numpy

        print("start has numpy %s" % numpy.__version__)
        self.next(self.end)

    @named_env(name="examples/named_demo")
    @step
    def end(self):
        import numpy

        print("end has numpy %s" % numpy.__version__)


if __name__ == "__main__":
    NamedEnvFlow()
