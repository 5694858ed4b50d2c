"""A remote (@kubernetes) step in ref/tiny:v1, an environment imported from the reference
extension's store, for the simulated bare node of tests/e2e/test_import_reference.py."""
from metaflow import FlowSpec, kubernetes, named_env, step


class RemoteImportedFlow(FlowSpec):
    @kubernetes
    @named_env(name="ref/tiny:v1")
    @step
    def start(self):
        import json
        import sys

        import tinyutil

        self.probe = {"prefix": sys.prefix, "tinyutil": tinyutil.__version__}
        print("IMPORTED-PROBE " + json.dumps(self.probe, sort_keys=True), flush=True)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteImportedFlow()
