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
        import os
        import subprocess
        import sys

        import six
        import tinyutil

        info = subprocess.run(["nativelib-info"], capture_output=True, text=True, check=True).stdout.strip()
        with open("/proc/self/maps") as maps:  # where the interpreter's shared libraries came from
            libraries = sorted({word for line in maps for word in line.split() if "/libpython" in word})
        self.probe = {
            "executable": sys.executable,
            "prefix": sys.prefix,
            "tinyutil": tinyutil.__version__,
            "six": six.__version__,
            "nativelib_info": info,
            "libpython": libraries,
            "variables": {k: os.environ.get(k) for k in ("PYTHONPATH", "LD_LIBRARY_PATH", "MF_ORIG_PYTHONPATH",
                                                         "MF_ORIG_LD_LIBRARY_PATH")},
        }
        print("REMOTE-NODE-PROBE " + json.dumps(self.probe, sort_keys=True), flush=True)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteNodeFlow()
