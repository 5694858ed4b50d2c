"""A flow for the `environment` flow-level commands: a conda step, a pypi step, a step
without any environment and one looked up when its task starts."""
from metaflow import FlowSpec, conda, named_env, pypi, step


class CliFlow(FlowSpec):
    @conda(libraries={"tinyutil": "1.1.0"})
    @step
    def start(self):
        import tinyutil

        self.version = tinyutil.__version__
        self.next(self.pypi_step)

    @pypi(packages={"six": "1.16.0"})
    @step
    def pypi_step(self):
        self.next(self.late)

    @named_env(name="team/cli-late:v1", fetch_at_exec=True)
    @step
    def late(self):
        self.next(self.end)

    @conda(disabled=True)
    @step
    def end(self):
        pass


if __name__ == "__main__":
    CliFlow()
