"""One @pypi step whose packages the realistic pip.conf's extra index also holds (older)."""
import json

from metaflow import FlowSpec, pypi, step

PACKAGES = {"tabulate": "0.9.0", "six": ">=1.16", "markupsafe": ">=2.1"}


class PipConfFlow(FlowSpec):
    @pypi(packages=PACKAGES)
    @step
    def start(self):
        from importlib.metadata import version

        self.versions = {name: version(name) for name in PACKAGES}
        print("VERSIONS " + json.dumps(self.versions, sort_keys=True))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    PipConfFlow()
