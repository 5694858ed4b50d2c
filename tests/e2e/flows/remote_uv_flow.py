"""A @kubernetes step of a uv project's flow, for the simulated node test with --environment=uv
(tests/e2e/test_remote_node.py copies it into the project): no environment decorator."""
from metaflow import FlowSpec, kubernetes, step


class RemoteUvFlow(FlowSpec):
    @kubernetes
    @step
    def start(self):
        import json
        import sys

        import boto3
        import mfenvs_alpha

        probe = {"executable": sys.executable, "mfenvs_alpha": mfenvs_alpha.__version__, "boto3": boto3.__version__}
        print("REMOTE-NODE-PROBE " + json.dumps(probe, sort_keys=True), flush=True)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteUvFlow()
