"""@conda_base for every step; a step's @conda overriding a version and adding a tool
(ffmpeg); a disabled step."""
from metaflow import FlowSpec, conda, conda_base, step

from run_probe import probe


@conda_base(libraries={"tinyutil": "1.0.0", "chainc": ""})
class RunMergeFlow(FlowSpec):
    @conda(libraries={"tinyutil": "2.0.0", "ffmpeg": ""})
    @step
    def start(self):
        self.probe = probe("tinyutil", "chainc", tools=["ffmpeg"])
        self.next(self.from_base)

    @step
    def from_base(self):
        self.probe = probe("tinyutil", "chainc")
        self.next(self.outer)

    @conda(disabled=True)
    @step
    def outer(self):
        self.probe = probe("tinyutil", "chainc", tools=["ffmpeg"])
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("tinyutil", "chainc")


if __name__ == "__main__":
    RunMergeFlow()
