"""Example 04: both steps run in the environment resolved from environment.yml with
`metaflow environment resolve --alias examples/yml_demo -f environment.yml`."""
from metaflow import FlowSpec, named_env, step


class YmlFlow(FlowSpec):
    @named_env(name="examples/yml_demo")
    @step
    def start(self):
        import pandas
        import requests

        print("start has pandas %s and requests %s" % (pandas.__version__, requests.__version__))
        self.next(self.end)

    @named_env(name="examples/yml_demo")
    @step
    def end(self):
        pass


if __name__ == "__main__":
    YmlFlow()
