"""A remote (@kubernetes) step in a mixed Conda + PyPI environment, for the simulated node
test: compiled with `argo-workflows create --only-json`, its `start` container command is
run on a bare "node" (see tests/e2e/test_remote_node.py)."""
from metaflow import FlowSpec, conda, kubernetes, step


class RemoteNodeFlow(FlowSpec):
    @kubernetes
    @conda(libraries={"tinyutil": "1.1.0", "nativelib": ""}, pip_packages={"six": ""})
    @step
    def start(self):
        import json
        import subprocess
        import sys

        import six
        import tinyutil

        info = subprocess.run(["nativelib-info"], capture_output=True, text=True, check=True).stdout.strip()
        self.probe = {
            "executable": sys.executable,
            "prefix": sys.prefix,
            "tinyutil": tinyutil.__version__,
            "six": six.__version__,
            "nativelib_info": info,
        }
        print("REMOTE-NODE-PROBE " + json.dumps(self.probe, sort_keys=True), flush=True)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteNodeFlow()
