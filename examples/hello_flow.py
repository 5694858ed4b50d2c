"""A first flow whose steps run in their own environments.

    python hello_flow.py --environment=pypi run

`@pypi_base` gives every step `requests`; `start` adds `rich` on top. Each step prints the
Python it runs with: an environment under ~/.cache/metaflow-envs, not the one you launched.
"""
from metaflow import FlowSpec, pypi, pypi_base, step


@pypi_base(packages={"requests": ">=2.28"})
class HelloEnvsFlow(FlowSpec):
    @pypi(packages={"rich": ""})
    @step
    def start(self):
        import sys

        from importlib.metadata import version

        import requests
        import rich  # noqa: F401  (only in start's environment)

        print("start runs in %s with requests %s and rich %s" % (sys.executable, requests.__version__, version("rich")))
        self.python = sys.executable
        self.next(self.end)

    @step
    def end(self):
        import sys

        import requests

        print("end runs in %s with requests %s" % (sys.executable, requests.__version__))
        assert sys.executable != self.python, "start and end have different environments"


if __name__ == "__main__":
    HelloEnvsFlow()
