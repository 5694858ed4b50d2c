"""Example 05: both steps run in the environment resolved from requirements.txt with
`metaflow environment resolve --python ">=3.10,<3.11" --alias examples/req_demo -r requirements.txt`."""
from metaflow import FlowSpec, named_env, step


class ReqFlow(FlowSpec):
    @named_env(name="examples/req_demo")
    @step
    def start(self):
        import pandas
        import requests

        print("start has requests %s and pandas %s" % (requests.__version__, pandas.__version__))
        self.next(self.end)

    @named_env(name="examples/req_demo")
    @step
    def end(self):
        pass


if __name__ == "__main__":
    ReqFlow()
