"""A step with an environment and no compute decorator of its own, for the simulated node
tests of schedulers that add theirs: `step-functions create` runs every step on AWS Batch,
`airflow create` on Kubernetes (see tests/e2e/test_remote_deployers.py)."""
from metaflow import FlowSpec, conda, step


class RemoteDeployFlow(FlowSpec):
    @conda(libraries={"tinyutil": "1.1.0"}, pip_packages={"six": ""})
    @step
    def start(self):
        import json
        import sys

        import six
        import tinyutil

        self.probe = {"executable": sys.executable, "tinyutil": tinyutil.__version__, "six": six.__version__}
        print("REMOTE-NODE-PROBE " + json.dumps(self.probe, sort_keys=True), flush=True)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteDeployFlow()
