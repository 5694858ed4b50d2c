"""Every step in team/tiny:v1; `start` adds chainc to it."""
from metaflow import FlowSpec, conda, named_env_base, step

from run_probe import probe


@named_env_base(name="team/tiny:v1")
class RunExtendFlow(FlowSpec):
    @conda(libraries={"chainc": ""})
    @step
    def start(self):
        self.probe = probe("tinyutil", "chainc")
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("tinyutil", "chainc")


if __name__ == "__main__":
    RunExtendFlow()
